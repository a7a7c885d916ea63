"""Erlang B/C/A figures against independent formulas and known values."""
import math
from fractions import Fraction

import pytest

from cti.domain.erlang import (StaffingError, _erlang_a_states, erlang_a_figures, erlang_b,
                               erlang_c, erlang_c_figures, staffing)


def erlang_c_by_definition(n: int, a: float) -> float:
    """The textbook sum, in exact fractions."""
    a = Fraction(a)
    top = a ** n / math.factorial(n) * Fraction(n) / (n - a)
    bottom = sum(a ** k / math.factorial(k) for k in range(n)) + top
    return float(top / bottom)


def test_erlang_b_known_value():
    assert erlang_b(10, 10.0) == pytest.approx(0.21458, abs=1e-5)
    assert erlang_b(0, 5.0) == 1.0


@pytest.mark.parametrize("n, a", [(2, 1.5), (12, 10.0), (66, 60.0), (130, 120.0)])
def test_erlang_c_matches_the_definition(n, a):
    assert erlang_c(n, a) == pytest.approx(erlang_c_by_definition(n, a), rel=1e-9)


def test_erlang_c_figures():
    result = erlang_c_figures(66, 1200, 180, 20)
    p = erlang_c_by_definition(66, 60.0)
    assert result.probability_wait == pytest.approx(p)
    assert result.service_level == pytest.approx(1 - p * math.exp(-(66 - 60) / 180 * 20))
    assert result.asa == pytest.approx(p * 180 / 6)
    assert result.occupancy == pytest.approx(60 / 66)
    overloaded = erlang_c_figures(60, 1200, 180, 20)
    assert overloaded.service_level == 0.0 and overloaded.asa == math.inf


def test_staffing_is_the_smallest_head_count_reaching_the_target():
    result = staffing(1200, 180, 0.8, 20)
    assert result.service_level >= 0.8
    assert erlang_c_figures(result.agents - 1, 1200, 180, 20).service_level < 0.8
    assert result.agents == 66


def test_erlang_a_tends_to_erlang_c_when_nobody_gives_up():
    c = erlang_c_figures(65, 1200, 180, 20)
    a = erlang_a_figures(65, 1200, 180, 20, patience=1e8)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-4)
    assert a.asa == pytest.approx(c.asa, rel=1e-3)
    assert a.abandon_rate < 1e-5


def test_erlang_a_abandons_obey_littles_law():
    agents, lam, aht, patience = 58, 1200 / 3600, 180.0, 120.0
    pi = _erlang_a_states(agents, lam, 1 / aht, 1 / patience)
    mean_queue = sum(max(n - agents, 0) * p for n, p in enumerate(pi))
    result = erlang_a_figures(agents, 1200, aht, 20, patience)
    assert result.abandon_rate == pytest.approx(mean_queue / patience / lam, rel=1e-6)
    assert 0 < result.service_level < 1 and result.asa > 0


def test_erlang_a_needs_fewer_agents_than_erlang_c_when_callers_abandon():
    a = staffing(1200, 180, 0.8, 20, patience=120)
    assert a.agents < staffing(1200, 180, 0.8, 20).agents
    assert a.service_level >= 0.8
    assert erlang_a_figures(a.agents - 1, 1200, 180, 20, 120).service_level < 0.8


@pytest.mark.parametrize("kwargs", [
    {"calls_per_hour": 0, "aht": 180, "target": 0.8, "within": 20},
    {"calls_per_hour": 100, "aht": -1, "target": 0.8, "within": 20},
    {"calls_per_hour": 100, "aht": 180, "target": 1.2, "within": 20},
    {"calls_per_hour": 100, "aht": 180, "target": 0.8, "within": -5},
    {"calls_per_hour": float("nan"), "aht": 180, "target": 0.8, "within": 20},
])
def test_impossible_figures_are_refused(kwargs):
    with pytest.raises(StaffingError):
        staffing(**kwargs)
