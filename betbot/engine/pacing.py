"""`--max-concurrent auto`: how many bets to keep in flight, decided from what the replies say.

A pure controller: it is fed observations (a reply and how long it took, a rate-limit or challenge refusal)
and reads a clock it is given; it does no I/O and never sleeps, so tests drive it with a fake clock.

How the limit moves (the reasons each change carries, journaled and shown):

- `little`     With a target rate (`--max-rate`), the N that reaches it from the measured latency: by
               Little's law, bets in flight = rate x time in flight. A little headroom on top: the token
               bucket holds the rate anyway, and a limit just below the product would miss it.
- `slow-start` Without a target, the limit doubles every round until the first sign of congestion. A round
               is one limit's worth of replies (8 at least), and at least one reply time long.
- `increase`   Additive increase: +1 per round (a round is one limit's worth of replies, about one
               reply time). Near the limit where the site last pushed back, it probes more slowly.
- `429`, `challenge`  Multiplicative decrease: the site said "too fast". One decrease per burst: the bets
               already in flight that hit the same limit do not each cut it again. The first one halves the
               limit (the last one without push-back, in slow start); later ones take it x `decrease` (0.7).
               The limit then grows +1 a round only halfway back to where the site pushed back.
- `latency`    Multiplicative decrease: a round's median reply time passed `latency_factor` x the baseline
               (the lowest round median of the recent rounds). Below that, the bets queued somewhere are
               estimated as limit x (1 - baseline / median) (TCP Vegas): past a quarter of the limit (and 1)
               the limit holds instead of growing. More bets in flight would then only wait longer (a
               client short of CPU, a site that queues), not raise the rate.
- `target`     The Little's-law N fell (the replies got faster): the limit follows it down.

The limit never goes above `ceiling` (the cap, already capped by what the strategy tolerates) nor below 1.

The read timeout of the live backend follows the replies too: a multiple of a high percentile of the recent
reply times, between a floor and the configured ceiling (the old fixed read timeout). A reply slower than
that is a bet of unknown outcome, reconciled with the site's books as before; only the wait is shorter.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["LatencyWindow", "PaceChange", "Pacer", "ReadTimeoutPolicy"]

_HEADROOM: Final = 1.2  # Little's N x this: the rate is held by the token bucket, not by a tight N
_LATENCY_SLACK: Final = 0.005  # seconds: a round must be this much slower too (timer noise at low latency)
# Past halfway back to the limit where the site last pushed back, a +1 step waits this many rounds and a
# probe interval that starts at _PROBE_FIRST seconds and doubles (up to _PROBE_MOST) each time the site
# pushes back there again: a site whose limit sits just above the current N costs a 429 now and then, not
# one every few rounds.
_PROBE_EVERY: Final = 8
_PROBE_FIRST: Final = 10.0
_PROBE_MOST: Final = 300.0
_BASELINE_ROUNDS: Final = 256  # the baseline is the lowest round median of this many recent rounds
_RECENT_WEIGHT: Final = 1 / 32  # the recent mean reply time (Little's law) moves this far toward each reply
_MIN_ROUND: Final = 8  # replies per round at least: the median of one or two replies is noise


@dataclass(frozen=True, slots=True)
class PaceChange:
    """One change of the limit: when (the pacer's clock), from, to, why (a reason above) and the figures."""

    at: float
    old: int
    new: int
    reason: str
    detail: str


class LatencyWindow:
    """The most recent reply times, in seconds."""

    __slots__ = ("_samples",)

    def __init__(self, size: int = 512) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def __len__(self) -> int:
        return len(self._samples)

    def quantile(self, q: float) -> float:
        """The q-quantile (nearest rank) of the window; 0 when empty."""
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    def mean(self) -> float:
        return sum(self._samples) / len(self._samples) if self._samples else 0.0


@dataclass(frozen=True, slots=True)
class ReadTimeoutPolicy:
    """The read timeout from recent reply times: `multiple` x their `quantile`, within [floor, ceiling]."""

    ceiling: float = 15.0
    floor: float = 1.0
    multiple: float = 4.0
    quantile: float = 0.99
    min_samples: int = 50  # until then: the ceiling

    def of(self, window: LatencyWindow) -> float:
        if len(window) < self.min_samples:
            return self.ceiling
        return min(self.ceiling, max(self.floor, self.multiple * window.quantile(self.quantile)))


class Pacer:
    """The current limit on bets in flight, moved by AIMD and Little's law (see the module docstring)."""

    def __init__(
        self,
        *,
        ceiling: int,
        target_rate: float | None = None,
        start: int = 2,
        decrease: float = 0.7,
        latency_factor: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        timeouts: ReadTimeoutPolicy | None = None,
        on_change: Callable[[PaceChange], None] | None = None,
        on_read_timeout: Callable[[float], None] | None = None,
    ) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        if target_rate is not None and target_rate <= 0:
            raise ValueError("target_rate must be above 0")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        self.ceiling = ceiling
        self.target_rate = target_rate
        self.decrease = decrease
        self.latency_factor = latency_factor
        self.clock = clock
        self.timeouts = timeouts or ReadTimeoutPolicy()
        self.on_change = on_change
        self.on_read_timeout = on_read_timeout
        self.latencies = LatencyWindow()
        self.recent_latency: float | None = None  # an exponentially weighted mean of the reply times, seconds
        self.limit = max(1, min(start, ceiling))
        self.read_timeout = self.timeouts.ceiling
        self.changes: deque[PaceChange] = deque(maxlen=64)  # the latest, for a dashboard; all go to on_change
        self.decreases = 0
        self.slow_start = True
        self._round: list[float] = []
        self._round_started = clock()
        self._round_medians: deque[float] = deque(maxlen=_BASELINE_ROUNDS)
        self._pushed_back_at: int | None = None  # the limit at the site's last 429 or challenge
        self._free_up_to = ceiling  # after a push-back: +1 a round up to here, probes beyond
        self._rounds_since_step = 0
        self._stepped_at = clock()
        self._probe_wait = _PROBE_FIRST
        self._hold_until = -math.inf  # refusals before this belong to the burst already acted on
        self._probing = False  # the last step was a probe above a limit that held: its failure steps back by 1
        self._rebase_if_slow = False  # set by a latency cut: still slow a round later means the site got slower

    # -- what the engine reads ------------------------------------------------------------------------
    @property
    def baseline(self) -> float | None:
        """The lowest round median of the recent rounds, in seconds; None before the first round."""
        return min(self._round_medians) if self._round_medians else None

    @property
    def reason(self) -> str:
        """Why the limit is what it is: the reason of its last change."""
        return self.changes[-1].reason if self.changes else "start"

    def goal(self) -> int:
        """The most the limit may reach now: the ceiling, or Little's N for the target rate if lower."""
        if self.target_rate is None or self.recent_latency is None:
            return self.ceiling
        return max(1, min(self.ceiling, math.ceil(self.target_rate * self.recent_latency * _HEADROOM - 1e-9)))

    def cap_at(self, most: int) -> None:
        """Lower the ceiling (the engine's: what the strategy tolerates); the limit follows it down."""
        self.ceiling = max(1, min(self.ceiling, most))
        self.limit = min(self.limit, self.ceiling)

    # -- what the engine feeds ------------------------------------------------------------------------
    def replied(self, seconds: float) -> None:
        """A reply came (any outcome but a rate limit or a challenge), `seconds` after the request left."""
        self.latencies.add(seconds)
        recent = self.recent_latency
        self.recent_latency = seconds if recent is None else recent + (seconds - recent) * _RECENT_WEIGHT
        round_ = self._round
        round_.append(seconds)
        # A round also lasts a reply time: replies to bets sent before the last raise must not end the round
        # that is to judge the raise (slow start would otherwise double again before any 429 could come back).
        if len(round_) >= max(self.limit, _MIN_ROUND) and self.clock() - self._round_started >= 0.9 * seconds:
            self._end_round()

    def pushed_back(self, reason: str) -> None:
        """The site refused a bet for going too fast (`429` or `challenge`): cut the limit, once per burst."""
        now = self.clock()
        if now < self._hold_until:
            return
        # Leaving slow start, the last limit without push-back is half this one (TCP's rule); later, x decrease.
        factor = 0.5 if self.slow_start else self.decrease
        self.slow_start = False
        if self._pushed_back_at is not None and self.limit >= self._pushed_back_at - 1:
            self._probe_wait = min(_PROBE_MOST, self._probe_wait * 2)  # pushed back again where it probed
        self._pushed_back_at = self.limit
        detail = f"the site answered {reason} at {self.limit} in flight"
        if self._probing:
            # A probe one above a limit that held for many rounds failed: back to that limit, not below it.
            self._probing = False
            self.decreases += 1
            self._set(self.limit - 1, reason, detail + " (a probe)")
            self._round.clear()
            self._round_started = now
            self._free_up_to = self.limit
        else:
            pushed_at = self.limit
            self._cut(reason, detail, factor)
            # Back up +1 a round only halfway to where the site pushed back; beyond that, probes.
            self._free_up_to = (self.limit + pushed_at) // 2
        # The bets already in flight were sent at the old limit: their refusals are the same burst.
        self._hold_until = now + max(self.latencies.quantile(0.9), 0.05)

    # -- rounds ---------------------------------------------------------------------------------------
    def _end_round(self) -> None:
        round_ = sorted(self._round)
        self._round.clear()
        self._round_started = self.clock()
        median = round_[len(round_) // 2]
        baseline = self.baseline
        self._round_medians.append(median)
        self._update_read_timeout()
        self._rounds_since_step += 1
        if self._rounds_since_step >= _PROBE_EVERY:
            self._probing = False  # a probe that lasted as many rounds without push-back held
        slow = baseline is not None and median > baseline * self.latency_factor + _LATENCY_SLACK
        rebase, self._rebase_if_slow = self._rebase_if_slow, False
        if slow and rebase:
            # Fewer bets in flight did not bring the replies back: the site itself is slower now. That is the
            # new baseline; cutting again would only walk the limit down to 1 for nothing.
            self._round_medians.clear()
            self._round_medians.append(median)
        elif slow:
            assert baseline is not None  # noqa: S101 - slow implies a baseline
            self.slow_start = False
            self._cut("latency", f"median reply {median * 1000:.0f} ms, baseline {baseline * 1000:.0f} ms")
            self._rebase_if_slow = True
            return
        goal = self.goal()
        # Bets queued somewhere rather than in service (TCP Vegas's estimate): limit x (1 - baseline / median).
        # Past a quarter of the limit (the noise of jittery replies stays below) more bets in flight would
        # only wait longer: the limit holds.
        queued = 0.0 if baseline is None else self.limit * (1 - baseline / median)
        if self.limit > goal:
            self._set(goal, "target", self._little_detail())
        elif queued > max(1.0, 0.25 * self.limit):
            self.slow_start = False  # replies slow down as N grows: no more doubling, +1 only once they do not
        elif self.limit < goal:
            if self.target_rate is not None and self.slow_start:
                self.slow_start = False
                self._set(goal, "little", self._little_detail())
            elif self.slow_start:
                self._set(min(goal, self.limit * 2), "slow-start", f"no push-back at {self.limit}")
            elif self._pushed_back_at is None or self.limit < self._free_up_to:
                self._set(self.limit + 1, "increase", f"a round at {self.limit} without push-back")
            elif self._rounds_since_step >= _PROBE_EVERY and self.clock() - self._stepped_at >= self._probe_wait:
                if self.limit >= self._pushed_back_at:  # held where the site pushed back: its limit moved
                    self._pushed_back_at = None
                    self._probe_wait = _PROBE_FIRST
                self._set(self.limit + 1, "increase", f"{self._rounds_since_step} rounds at {self.limit} "
                          "without push-back")
                self._probing = True

    def _little_detail(self) -> str:
        return (f"{self.target_rate:g} bets/s x {(self.recent_latency or 0) * 1000:.0f} ms mean reply "
                f"x {_HEADROOM:g} headroom")

    def _cut(self, reason: str, detail: str, factor: float | None = None) -> None:
        self.decreases += 1
        self._set(max(1, math.floor(self.limit * (factor or self.decrease))), reason, detail)
        self._round.clear()  # the replies in flight were sent at the old limit
        self._round_started = self.clock()
        self._rounds_since_step = 0

    def _set(self, new: int, reason: str, detail: str) -> None:
        new = max(1, min(self.ceiling, new))
        if new == self.limit:
            return
        change = PaceChange(at=self.clock(), old=self.limit, new=new, reason=reason, detail=detail)
        self.limit = new
        self._rounds_since_step = 0
        self._stepped_at = change.at
        self.changes.append(change)
        if self.on_change is not None:
            self.on_change(change)

    def _update_read_timeout(self) -> None:
        timeout = self.timeouts.of(self.latencies)
        # A change under 10 % is noise: the backend rebuilds its per-request timeouts only on a real one.
        if abs(timeout - self.read_timeout) > 0.1 * self.read_timeout:
            self.read_timeout = timeout
            if self.on_read_timeout is not None:
                self.on_read_timeout(timeout)
