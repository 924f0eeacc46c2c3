"""Reading a question in the guide's words: spaCy lemmas without stop words (and adjacent
pairs), widened by the pack's glossary and by other forms of a word the guide uses, with small
spelling slips mended against the guide's vocabulary. Used by retrieval and curated answers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from spacy.language import Language

from guidance.nlp import normalise
from guidance.question_kinds import KindReader, Query, frame_and_content
from guidance.spelling import deletes, derived, stem

MAX_QUERY_TERMS = 80
EXPANSION_WEIGHT = 0.6  # glossary phrases count a little less than the user's own words
KNOWN_EXPANSION_WEIGHT = 0.3  # ...and less again for a word the guide itself uses
KNOWN_EXPANSION_TERMS = 3  # ...shared out when its expansion has more terms than this
FRAME_WEIGHT = 0.5  # "long" in "how long" says what kind of answer, not what about
FUZZY_WEIGHT = 0.8  # a mended spelling slip counts a little less too
FAMILY_WEIGHT = 0.5  # another form of the asker's word ("referral" for "refer")
FUZZY_CACHE_SIZE = 10_000
MIN_MEND_LENGTH = 5  # "bake" is not a slip for "make": shorter words are left as typed

# spaCy counts these as stop words, but in safeguarding questions they carry meaning.
_KEEP = frozenset(
    "first call never alone back down up within without before after under over full name "
    "one two three four five six ten twelve fifteen twenty forty fifty hundred third "
    "together against off serious move out front part take keep last next make".split()
)
_JOINERS = frozenset({"-", "/", "'"})


class Analyser:
    """Words, lemmas and terms of a text through the shared spaCy pipeline."""

    def __init__(self, nlp: Language):
        self._nlp = nlp
        # "won't" and "can't" leave "wo" and "ca" behind.
        self._stop = (frozenset(nlp.Defaults.stop_words) - _KEEP) | {"wo", "ca", "sha", "ai"}

    def words(self, text: str) -> list[str]:
        """Lowercased word tokens (no punctuation), for glossary matching."""
        doc = self._nlp.make_doc(normalise(text))
        return [tok.text for tok in doc if not (tok.is_punct or tok.is_space)]

    def lemma_runs(self, text: str) -> list[str | None]:
        """Content lemmas in order; None marks punctuation, which no phrase pair may cross."""
        doc = self._nlp(normalise(text))
        out: list[str | None] = []
        for tok in doc:
            if tok.is_space or tok.text in _JOINERS:
                continue  # "self-harm" reads as the pair "self harm"
            if tok.is_punct:
                if out and out[-1] is not None:
                    out.append(None)
                continue
            lemma = (tok.lemma_ or tok.text).lower()
            if lemma in self._stop or tok.text in self._stop:
                continue
            out.append(lemma)
        return out

    def lemmas(self, text: str) -> list[str]:
        return [lemma for lemma in self.lemma_runs(text) if lemma is not None]

    def terms(self, text: str) -> list[str]:
        """Content lemmas plus adjacent pairs ('level 4', 'county line'), which favour phrases."""
        runs = self.lemma_runs(text)
        pairs = [f"{a} {b}" for a, b in zip(runs, runs[1:], strict=False) if a and b]
        return [lemma for lemma in runs if lemma is not None] + pairs


class QueryReader:
    """Reads questions against one guide's vocabulary. Build once per pack; `read` only reads
    the tables (and a bounded spelling cache)."""

    def __init__(
        self,
        analyser: Analyser,
        idf: Mapping[str, float],
        term_counts: Sequence[Mapping[str, int]],
        glossary: Mapping[str, Sequence[str]],
        kinds: KindReader,
    ):
        self._analyser = analyser
        self._kinds = kinds
        self._idf = idf
        # Glossary: single words by word, phrases by their word tuple; expansions pre-lemmatised.
        self._gloss_words: dict[str, list[str]] = {}
        self._gloss_phrases: list[tuple[str, list[str]]] = []
        self._gloss_lemmas: dict[str, frozenset[str]] = {}  # the asker's words, as lemmas
        for key, phrases in glossary.items():
            expansion = [term for phrase in phrases for term in self._analyser.terms(phrase)]
            words = " ".join(self._analyser.words(key))
            if not words or not expansion:
                continue
            self._gloss_lemmas[words] = frozenset(self._analyser.lemmas(words))
            if " " in words:
                self._gloss_phrases.append((f" {words} ", expansion))
            else:
                self._gloss_words[words] = expansion

        # Spelling slips: every vocabulary word and its one-letter deletions point to the word.
        df = Counter(term for tf in term_counts for term in tf)
        self._vocab_freq = Counter({t: n for t, n in df.items() if " " not in t})
        self._deletions: dict[str, set[str]] = defaultdict(set)
        for word in self._vocab_freq:
            if len(word) >= 4 and word.isalpha():
                self._deletions[word].add(word)
                for variant in deletes(word):
                    self._deletions[variant].add(word)
        self._fuzzy_cache: dict[str, str | None] = {}
        # A word the guide uses in another form ("radicalised" for "radicalisation").
        self._stems: dict[str, str] = {}
        for word, _ in self._vocab_freq.most_common():
            if len(word) >= 5 and word.isalpha():
                self._stems.setdefault(stem(word), word)
        # Words of one family the guide uses ("refer", "referral", "referrer"; "respond",
        # "response"): a question in one form also finds the others, for a little less.
        self._family: dict[str, set[str]] = defaultdict(set)
        for word in self._vocab_freq:
            if len(word) >= 5 and word.isalpha():  # "like" is not "likely"
                for form in derived(word):
                    if form != word and form in self._vocab_freq:
                        self._family[word].add(form)
                        self._family[form].add(word)

    def read(self, question: str) -> Query:
        """The question (already respelled) as weighted guide terms and kinds."""
        query = Query(kinds=self._kinds.read(question))
        normalised = normalise(question)
        frame, content = frame_and_content(normalised)
        lemmas = self._analyser.lemmas(content)[:MAX_QUERY_TERMS]
        mended = [self._mend(lemma) for lemma in lemmas]
        weights = query.weights
        for lemma, fixed in zip(lemmas, mended, strict=False):
            if fixed is None:
                query.original.append(lemma)  # unknown to the guide: it still counts as asked
                continue
            query.original.append(fixed)
            weight = 1.0 if fixed == lemma else FUZZY_WEIGHT
            weights[fixed] = max(weights.get(fixed, 0.0), weight)
        known = [fixed for fixed in mended if fixed is not None]
        for a, b in zip(known, known[1:], strict=False):
            pair = f"{a} {b}"
            if pair in self._idf:
                weights[pair] = max(weights.get(pair, 0.0), 1.0)

        # The glossary: abbreviations and everyday words widen the question.
        # An abbreviation the guide itself uses ("MASH") already finds its sections: its
        # spelled-out form counts for less, so it does not outweigh the rest of the question.
        expansions: list[tuple[str, float, str]] = []
        words = self._analyser.words(content)
        word_set = set(words)
        for word in word_set:
            expansion = self._gloss_words.get(word, ())
            weight = EXPANSION_WEIGHT
            if word in self._idf:
                # The guide's own abbreviation finds its sections already: its spelled-out words
                # together count for no more than a few of the asker's words.
                words_added = {t for t in expansion if " " not in t and t != word}
                share = min(1.0, KNOWN_EXPANSION_TERMS / max(len(words_added), 1))
                weight = KNOWN_EXPANSION_WEIGHT * share
            expansions.extend((term, weight, word) for term in expansion)
        # Phrases may include the frame ("how much"): match them on the whole question.
        joined = f" {' '.join(words)}  {' '.join(self._analyser.words(frame)) if frame else ''} "
        for phrase, expansion in self._gloss_phrases:
            if phrase in joined:
                expansions.extend((term, EXPANSION_WEIGHT, phrase.strip()) for term in expansion)
        for term, weight, key in expansions:
            if term in self._idf and weights.get(term, 0.0) < weight:
                if term not in weights or term in query.expanded:
                    weights[term] = weight
                    query.expanded.add(term)
            if term in query.expanded:
                query.expanded_from[term] = (
                    query.expanded_from.get(term, frozenset()) | self._gloss_lemmas[key]
                )
        for term, weight in list(weights.items()):
            if weight < FUZZY_WEIGHT or term in query.expanded:
                continue
            for relative in self._family.get(term, ()):
                if relative not in weights:
                    weights[relative] = FAMILY_WEIGHT * weight
                    query.expanded.add(relative)
                    query.expanded_from[relative] = frozenset({term})
        # ...and a phrase in other forms ("permanent exclusion": "permanently excluded").
        for a, b in zip(known, known[1:], strict=False):
            if f"{a} {b}" in self._idf:
                continue  # the guide uses the asker's own phrase
            for pair in (
                f"{x} {y}"
                for x in (a, *self._family.get(a, ()))
                for y in (b, *self._family.get(b, ()))
            ):
                if pair not in weights and pair in self._idf:
                    weights[pair] = FUZZY_WEIGHT
                    query.expanded.add(pair)
        # The frame ("how long") still hints at the section on timescales, a little.
        for term in self._analyser.lemmas(frame) if frame else ():
            if term in self._idf and term not in weights:
                weights[term] = FRAME_WEIGHT
                query.framed.add(term)
        return query

    def _mend(self, lemma: str) -> str | None:
        """The guide's own word for a lemma: itself, a one-slip correction, or None."""
        if lemma in self._idf:
            return lemma
        if lemma.endswith("s") and lemma[:-1] in self._idf:
            return lemma[:-1]  # "RCPCs", "DSLs": a plural the lemmatizer does not know
        if len(lemma) < MIN_MEND_LENGTH or not lemma.isalpha():
            return None
        if lemma in self._fuzzy_cache:
            return self._fuzzy_cache[lemma]
        candidates = set(self._deletions.get(lemma, ()))  # a letter left out
        for variant in deletes(lemma):
            if len(lemma) > MIN_MEND_LENGTH:
                candidates |= self._deletions.get(variant, set())  # a letter wrong
            elif variant in self._vocab_freq:
                candidates.add(variant)  # a letter too many
        if len(lemma) <= MIN_MEND_LENGTH:  # a short word keeps its first letter ("bread")
            candidates = {word for word in candidates if word[0] == lemma[0]}
        best = max(sorted(candidates), key=lambda w: self._vocab_freq[w], default=None)
        if best is None and len(lemma) >= 5:
            best = self._stems.get(stem(lemma))
        if len(self._fuzzy_cache) < FUZZY_CACHE_SIZE:
            self._fuzzy_cache[lemma] = best
        return best
