"""An assessment in the asker's role (guidance/roles.py): the GP's route, not the school's."""

from guidance.roles import for_role

BRUISED_BABY = "9-month-old with a bruise on his cheek, mum says he rolled off the sofa."


def test_a_gp_gets_the_gp_route_and_the_bruising_section(guidance_engine):
    general = guidance_engine.assess(BRUISED_BABY)
    gp = for_role(general, guidance_engine.pack, "gp")
    assert gp.level == general.level == 4 and gp.reasons == general.reasons
    steps = " ".join(gp.next_steps)
    assert "Integrated Front Door" in steps and "GP report" in steps
    assert "designated safeguarding lead" not in steps and "own words" not in steps
    ids = [s.id for s in gp.sources]
    assert "bruising-non-mobile-babies" in ids[:3]  # the situation first, then the GP route
    assert "gp-conference-reports" in ids and "gp-responsibilities" in ids
    assert len(ids) == len(set(ids)) <= 6


def test_other_roles_and_unplaced_answers_are_unchanged(guidance_engine):
    general = guidance_engine.assess(BRUISED_BABY)
    assert for_role(general, guidance_engine.pack, "dsl") == general  # the DSL's wording stays
    assert for_role(general, guidance_engine.pack, None) == general
    unplaced = guidance_engine.assess("hello there")
    assert not unplaced.placed and for_role(unplaced, guidance_engine.pack, "gp") == unplaced
