"""The guidance engine: a council's guidance pack, the risk screen, level assessment and answers.

Knows nothing of Rasa, the database or any channel; everything else calls it.
"""
