"""`--max-concurrent auto`: how many bets to keep in flight, decided from what the replies say.

A pure controller: it is fed observations (a reply and how long it took, a rate-limit or challenge refusal)
and reads a clock it is given; it does no I/O and never sleeps, so tests drive it with a fake clock.

How the limit moves (the reasons each change carries, journaled and shown):

- `little`     With a target rate (`--max-rate`), the N that reaches it from the measured latency: by
               Little's law, bets in flight = rate x time in flight. A little headroom on top: the token
               bucket holds the rate anyway, and a limit just below the product would miss it.
- `slow-start` Without a target, the limit doubles every round until the first sign of congestion. A round
               is one limit's worth of replies (8 at least), and at least one reply time long; where 8
               replies would take over a quarter second (0.8 s at 2 in flight and 200 ms), every bet of the
               limit back over two reply times is a round too.
- `increase`   Additive increase: +1 per round (a round is one limit's worth of replies, about one
               reply time). Near the limit where the site last pushed back, it probes more slowly.
- `429`, `challenge`  Multiplicative decrease: the site said "too fast". One decrease per episode: the bets
               already on their way when the first refusal came back (sent before it) do not each cut it
               again, however late their refusals come. The first one halves the
               limit (the last one without push-back, in slow start); later ones take it x `decrease` (0.7).
               The limit then grows +1 a round only halfway back to where the site pushed back.
- `latency`    Multiplicative decrease: a round's median reply time passed `latency_factor` x the baseline
               (the lowest round median of the recent rounds). Below that, the bets queued somewhere are
               estimated as limit x (1 - baseline / median) (TCP Vegas): past a quarter of the limit (and 1)
               the limit holds instead of growing. More bets in flight would then only wait longer (a
               client short of CPU, a site that queues), not raise the rate.
- `target`     The Little's-law N fell (the replies got faster): the limit follows it down.
- `probe`      The learned rate ceiling (below) goes up 5 % or more, after a quiet while it binds.
- `remembered` At the start: the rate ceiling an earlier session learned from the same site (`start_at_rate`,
               from the journal), so that this one starts at Little's N for it instead of finding the
               site's limit again by running into it.

The learned rate ceiling. Without `--max-rate` the site's limit is unknown, and a limit on bets in flight alone
keeps running into it: the rate swings with the reply times, and each 429 costs a pause of every bet (the site's
Retry-After). So the first push-back also teaches a rate: the rate of the replies over the last two reply times
before it (half a second at least; pauses left out) is about what the site allowed (a little more: a site's burst).
The ceiling is then `_RATE_MARGIN` x that rate. The bets still on their way tell better: from the site's first
refusal on its limit was spent, so every bet it accepted after that, it accepted as its limit let one more through
(a token bucket's refill). The ones it accepted between its first and its last refusal (by when it saw them:
halfway through their reply times), per second of that span, are its rate with no burst in it: with
`_RATE_SETTLE_MIN` of them or more, over half a reply time (and a tenth of a second) at least, the ceiling becomes
`_RATE_MARGIN_SATURATED` x that, as soon as their replies are in (before a Retry-After pause ends). Refusals all in
one bunch (slow start sends a limit's worth of bets at once) give no span: the guess stays. The engine's token
bucket holds the ceiling, and the limit on bets in flight becomes Little's N for it (as with a target rate), with
no `latency` cut nor queueing hold: the bucket holds what the site sees, and a client short of CPU would otherwise
cut the rate for nothing. A later push-back soon after the ceiling moved is fitted to a token bucket when it can
be: a bucket of burst B and rate R, full at the start of a run of bets (the session's start on an idle site; the
end of a Retry-After pause, which refills it), refuses once it took B + R x t of them, t seconds in, whatever their
pace. So two runs up to a refusal, of different lengths, give R without B: the ceiling becomes
`_RATE_MARGIN_SATURATED` x R (`_Run`, `_rate_from_runs`), and the bets on their way move it only from
`_RATE_SETTLED_MIN` of them. At fast replies, where too few bets are on their way to count the rate between two
refusals, the session's start and the run at the first guess tell it at the second push-back (no less a cut than x
`_RUN_START_CUT_LEAST` though: the site's bucket may not have been full at the session's start). When no rate
between half the failed ceiling and that ceiling fits the runs (a fixed window takes as many bets in a short run as
in a long one), it takes the ceiling x `_RATE_DECREASE` (the site's limit is lower, or went down). One after a
quiet of `_RATE_PROBE_FIRST` seconds or more only steps back 5 % (the site's burst drained slowly: its limit is
just below), or to the runs' fit when that says 5 % would fail again; one after a `probe` puts it back where it
held. After `_RATE_PROBE_FIRST` seconds without push-back (`_RATE_PROBE_SETTLED` after a figure from
`_RATE_SETTLED_MIN` bets or more between two refusals, or from two runs), while the replies come at close to the
ceiling (it binds), the ceiling goes up 5 % (`probe`; 10, then 20 % for probes in a row that held): the site's
limit may be higher, or have risen. A failed probe doubles that wait (up to `_PROBE_MOST`): a ceiling just below
the site's limit costs a 429 ever more rarely. `--max-rate`, when given, stays a hard ceiling: nothing learned goes
above it.

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
_SHORT_ROUND: Final = 2.0  # reply times: in slow start, a round of fewer than _MIN_ROUND replies lasts this long
_SHORT_ROUND_SLOW: Final = 0.25  # seconds: short rounds only where a round of _MIN_ROUND would last longer
_SLOW_ROUNDS: Final = 2  # rounds in a row past the latency factor before a `latency` cut
# The learned rate ceiling (see the module docstring).
_RATE_WINDOW: Final = 2.0  # seconds of replies before a push-back that measure the rate the site allowed
_RATE_FIRST_WINDOW: Final = 2.0  # reply times of replies before the first push-back: the rate it allowed
_RATE_FIRST_WINDOW_LEAST: Final = 0.5  # seconds: at fast replies, fewer would be the site's burst drained
_RATE_MIN_REPLIES: Final = 8  # fewer in the window: no rate is learned (the limit on bets in flight is cut)
_RATE_MARGIN: Final = 0.9  # the first ceiling: this x the rate measured (it includes the site's burst)
_RATE_MARGIN_SATURATED: Final = 0.95  # the ceiling: this x the rate the site accepted while it refused some
_RATE_PROBE_FIRST: Final = 5.0  # seconds without push-back before the first probe of a learned ceiling
_RATE_PROBE_SETTLED: Final = 10.0  # the same, for a ceiling learned from what the site accepted while it refused
# The same for a ceiling an earlier session held (`start_at_rate`): that session's probes above it failed already,
# and a probe every few seconds of each new session would cost a 429 episode a session for nothing new.
_RATE_PROBE_REMEMBERED: Final = 60.0
# Bets the site accepted between two refusals, fewer than this: no rate from them (one token either way at the
# ends of the span is a sixth of the figure; at 50 ms replies and 120 bets/s there are about six).
_RATE_SETTLE_MIN: Final = 6
_RATE_SPAN_LEAST: Final = 0.5  # reply times: a shorter span of them gives no figure
# Nor one under this, seconds: the client's own timing (its event loop, a busy machine) blurs when the site saw
# a bet by milliseconds, and at 50 ms replies a span of 25 ms with six bets in it gave 1.8 x the site's rate.
_RATE_SPAN_LEAST_S: Final = 0.1
_RATE_SETTLED_MIN: Final = 16  # this many, to a refusal: the figure is good to 1/16, probes wait longer
_RATE_DECREASE: Final = 0.85  # a push-back at a ceiling that held: x this
_RATE_PROBE: Final = 1.05  # a probe: the ceiling x this
_RATE_STEP_MOST: Final = 0.2  # probes in a row that held double the step up to this
_RATE_BINDING: Final = 0.95  # a probe only while the replies come at this much of the ceiling at least
_RATE_LOG_STEP: Final = 0.05  # a push-back's replies move the ceiling by less: it stays
_REPLY_TIMES: Final = 4096  # the reply times kept for the rate (2 s at 2000 bets/s)
# Two runs (from a start to a refusal, `_Run`) whose lengths, over the stretches that set their bursts, differ by
# less than this, seconds, give no rate: beyond it a bet either way at their ends moves the rate by 7 bets/s at
# most (at 20 ms replies a bet's time at the site blurs by ~2 ms, a bet at 120 bets/s is 8 ms). At 20 ms the
# session's start and the run after the first guess differ by 0.15-0.3 s.
_RUN_SPREAD_LEAST: Final = 0.15
_RUNS_KEPT: Final = 3  # the latest runs: a site's limit may change, old runs would then mislead
# The rate two runs tell is sought between this share of the ceiling that failed and that ceiling; none there
# (a fixed window takes as many bets in a short run as in a long one: no rate fits) and the fixed
# `_RATE_DECREASE` step applies.
_RUN_RATE_LEAST: Final = 0.5
# A figure fitted from the session's start cuts the ceiling that failed by this at least: the site's bucket may
# have been part-spent then, which reads the rate high, and a cut this deep keeps the next runs far enough apart
# in length for two runs after pauses to tell the rate. Not the fixed step: at 50 and 200 ms, where the first
# guess is close, it cut below fits that were right to 2 %.
_RUN_START_CUT_LEAST: Final = 0.9


@dataclass(frozen=True, slots=True)
class PaceChange:
    """One change of the limit: when (the pacer's clock), from, to, why (a reason above) and the figures."""

    at: float
    old: int
    new: int
    reason: str
    detail: str
    rate: float | None = None  # the rate ceiling that held after it, bets/s (`Pacer.held_rate`): None, none yet


@dataclass(slots=True)
class _Episode:
    """A push-back and the bets that were already on their way when it came (sent before `started`)."""

    started: float  # the clock at its first refusal
    reason: str
    # When the site saw the earliest and the latest bet it refused (about halfway through their replies: when
    # they were sent would count the jitter of the reply times as time the site refused in).
    first_seen: float
    last_refused: float
    refine: bool  # whether what the site accepted among its bets may set the rate ceiling
    # Bets the site must have accepted between its first and last refusal for that: more after a fitted figure
    # (from seconds of bets, better than a few counted over a fifth of a second).
    settle_least: int = _RATE_SETTLE_MIN
    refused: int = 1
    logged_rate: float | None = None  # the ceiling it last recorded a change for
    # When the site saw the first bet sent after it (its Retry-After pause over), and the rate ceiling then:
    # from there to the next push-back is one run (`_Run`).
    resumed: float | None = None
    resumed_under: float | None = None


@dataclass(frozen=True, slots=True)
class _Run:
    """The bets a site took from a start (the session's, or the end of a Retry-After pause) to its next refusal.

    `taken`: when it saw each (about), in order; `refused`: when it saw the refused one; `ceiling`: the rate
    ceiling they were sent under all along (None: none yet, the session's start)."""

    taken: tuple[float, ...]
    refused: float
    ceiling: float | None

    def burst(self, rate: float) -> float:
        """The burst B a token bucket of `rate` bets/s must have had to refuse where it did: the most bets it
        took in any stretch up to its refusal beyond what `rate` refilled over that stretch. Taking the most
        leaves out a stretch at the run's start where the bets came slower than the rate (the bucket full,
        its refill lost)."""
        count = len(self.taken)
        return max(count - i - rate * (self.refused - at) for i, at in enumerate(self.taken))


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
        self._slow_rounds = 0  # rounds in a row past the latency factor
        self.learned_rate: float | None = None  # bets/s: the rate ceiling learned from the site's push-backs
        self._rate_held: float | None = None  # while a rate probe runs: the ceiling before it
        self._rate_probe_wait = _RATE_PROBE_FIRST
        self._rate_step = _RATE_PROBE - 1  # the next probe's raise of the ceiling
        self._rate_moved_at = clock()  # the ceiling's last change or push-back
        self._replied_at: deque[float] = deque(maxlen=_REPLY_TIMES)  # the clock at each reply
        self._seen_at: deque[float] = deque(maxlen=_REPLY_TIMES)  # and when the site saw its bet (about)
        self._episode: _Episode | None = None  # the last push-back, and the bets in flight when it came
        self._runs: deque[_Run] = deque(maxlen=_RUNS_KEPT)  # to a refusal that began an episode, the latest

    # -- what the engine reads ------------------------------------------------------------------------
    @property
    def baseline(self) -> float | None:
        """The lowest round median of the recent rounds, in seconds; None before the first round."""
        return min(self._round_medians) if self._round_medians else None

    @property
    def reason(self) -> str:
        """Why the limit is what it is: the reason of its last change."""
        return self.changes[-1].reason if self.changes else "start"

    @property
    def rate(self) -> float | None:
        """The rate to hold, bets/s: the target (`--max-rate`) or the learned ceiling, the lower; None: neither."""
        if self.learned_rate is None:
            return self.target_rate
        return self.learned_rate if self.target_rate is None else min(self.target_rate, self.learned_rate)

    @property
    def held_rate(self) -> float | None:
        """The rate ceiling that held, bets/s: the learned one, or while a probe above it runs, the one before
        the probe (which the site has not yet let through for long). What a later session starts from."""
        return self._rate_held if self._rate_held is not None else self.learned_rate

    def goal(self) -> int:
        """The most the limit may reach now: the ceiling, or Little's N for the rate to hold if lower."""
        rate = self.rate
        if rate is None or self.recent_latency is None:
            return self.ceiling
        return max(1, min(self.ceiling, math.ceil(rate * self.recent_latency * _HEADROOM - 1e-9)))

    def measured_rate(self, window: float = _RATE_WINDOW) -> float | None:
        """The rate of the replies over the last `window` seconds, bets/s; None on too few of them.

        A gap between two replies longer than two reply times (and 50 ms) is a pause (a back-off, a strategy's
        sleep), not the site's pace: it is left out of the time."""
        now = self.clock()
        times = self._replied_at
        if len(times) < 2:
            return None
        idle = 2 * (self.recent_latency or 0.0) + 0.05
        busy = 0.0
        count = 0
        later = times[-1]
        for at in reversed(times):
            if at < now - window:
                break
            gap = later - at
            if gap <= idle:
                busy += gap
                count += at != later
            later = at
        if count < _RATE_MIN_REPLIES or busy <= 0:
            return None
        return count / busy

    def cap_at(self, most: int) -> None:
        """Lower the ceiling (the engine's: what the strategy tolerates); the limit follows it down."""
        self.ceiling = max(1, min(self.ceiling, most))
        self.limit = min(self.limit, self.ceiling)

    def start_at_rate(self, rate: float, source: str) -> None:
        """Before the first bet: start under a rate ceiling learned from this site before (`source`: by whom),
        `remembered`. Little's N for it from the first round on, with no slow start to run into the site's
        limit and no 429s to learn it again. The figure counts as one good to a few per cent, probed already:
        the first probe above it waits `_RATE_PROBE_REMEMBERED`, and a push-back steps back from it as from any
        ceiling that held."""
        if not 0 < rate < math.inf:
            raise ValueError("the rate must be above 0")
        self.learned_rate = rate if self.target_rate is None else min(rate, self.target_rate)
        self.slow_start = False
        self._rate_probe_wait = _RATE_PROBE_REMEMBERED
        self._set(self.limit, "remembered", f"rate ceiling {self.learned_rate:.1f} bets/s, learned from this site "
                  f"by {source}", always=True)

    # -- what the engine feeds ------------------------------------------------------------------------
    def replied(self, seconds: float) -> None:
        """A reply came (any outcome but a rate limit or a challenge), `seconds` after the request left."""
        self.latencies.add(seconds)
        now = self.clock()
        self._replied_at.append(now)
        self._seen_at.append(now - seconds / 2)
        episode = self._episode
        if episode is not None and now - seconds < episode.started:  # on its way when the push-back came
            self._settle(episode)
        elif episode is not None and episode.resumed is None:  # the first bet sent after its pause
            episode.resumed = now - seconds / 2
            episode.resumed_under = self.learned_rate
        recent = self.recent_latency
        self.recent_latency = seconds if recent is None else recent + (seconds - recent) * _RECENT_WEIGHT
        round_ = self._round
        round_.append(seconds)
        # A round also lasts a reply time: replies to bets sent before the last raise must not end the round
        # that is to judge the raise (slow start would otherwise double again before any 429 could come back).
        elapsed = self.clock() - self._round_started
        # Slow start with few in flight and slow replies: eight replies would take many reply times (0.8 s at 2
        # in flight and 200 ms), so every bet of the limit back, over two reply times, is a round too. Not with
        # fast replies: there the ramp is short anyway, and a shorter one would leave the first rate learned
        # (over the ramp) more of the site's burst in it.
        short = (self.slow_start and self.rate is None and elapsed >= _SHORT_ROUND * 0.9 * seconds
                 and _MIN_ROUND / self.limit * seconds >= _SHORT_ROUND_SLOW)
        if len(round_) >= (self.limit if short else max(self.limit, _MIN_ROUND)) and elapsed >= 0.9 * seconds:
            self._end_round()

    def pushed_back(self, reason: str, seconds: float | None = None) -> None:
        """The site refused a bet for going too fast (`429` or `challenge`), `seconds` after it was sent: cut
        the limit, once per episode.

        The bets already on their way when the first refusal came were sent at the old limit: their refusals
        are the same episode (and so are those within a reply time of it, when `seconds` is not known)."""
        now = self.clock()
        took = seconds if seconds is not None else self.recent_latency or 0.0
        seen = now - took / 2
        episode = self._episode
        if episode is not None and (now - took < episode.started or now < self._hold_until):
            episode.refused += 1
            episode.first_seen = min(episode.first_seen, seen)
            episode.last_refused = max(episode.last_refused, seen)
            self._settle(episode)
            return
        hold_until = now + max(self.latencies.quantile(0.9), 0.05)
        self._end_run(episode, seen)
        self._episode = _Episode(started=now, reason=reason, first_seen=seen, last_refused=seen, refine=False)
        if self._learn_rate(reason, self._episode):
            self._hold_until = hold_until
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
        self._hold_until = hold_until

    def _learn_rate(self, reason: str, episode: _Episode) -> bool:
        """A push-back sets or lowers the rate ceiling; False when there is no rate to learn it from."""
        measured = self.measured_rate()
        if self.learned_rate is None and self.recent_latency is not None:
            # The first one: the rate of the last reply times only. Slow start was ramping up over the seconds
            # before (a 2 s window at 200 ms replies is mostly the ramp, half the rate the site allowed).
            window = max(_RATE_FIRST_WINDOW * self.recent_latency, _RATE_FIRST_WINDOW_LEAST)
            measured = self.measured_rate(min(window, _RATE_WINDOW)) or measured
        old = self.learned_rate
        if self._rate_held is not None:
            new, why = self._rate_held, f"a probe to {old:.1f} bets/s failed"
            self._rate_probe_wait = min(_PROBE_MOST, self._rate_probe_wait * 2)
        elif old is not None and self.clock() - self._rate_moved_at >= _RATE_PROBE_FIRST:
            # It held for a long quiet: the site's limit is just below it (a burst drained slowly). One probe
            # step back, not the cut that would cost many probes to climb back.
            new, why = old / _RATE_PROBE, f"{old:.1f} bets/s held {self.clock() - self._rate_moved_at:.0f} s"
            fit = self._rate_from_runs(old, episode.first_seen)
            if fit is not None and fit[0] < new:  # the runs say the step back would fail again: their figure
                new = _RATE_MARGIN_SATURATED * fit[0]
                why += f"; {_RATE_MARGIN_SATURATED:g} x {fit[0]:.1f} bets/s fitted to what it took"
            # A probe failed late, not a lower limit: the next probe waits twice as long, as after any failed one.
            self._rate_probe_wait = min(_PROBE_MOST, self._rate_probe_wait * 2)
        elif old is not None and (fit := self._rate_from_runs(old, episode.first_seen)) is not None:
            # A push-back soon after a resume: the runs tell the site's rate, the ceiling goes just under it
            # in one step (below 0.95 x the old one always: the rate sought is below it). From the session's
            # start the figure may be high (see _rate_from_runs): then no less a cut than _RUN_START_CUT_LEAST.
            fitted, from_start = fit
            new = _RATE_MARGIN_SATURATED * fitted
            why = f"{_RATE_MARGIN_SATURATED:g} x {fitted:.1f} bets/s fitted to what it took before its last refusals"
            if from_start and new > _RUN_START_CUT_LEAST * old:
                new = _RUN_START_CUT_LEAST * old
                why = f"{_RUN_START_CUT_LEAST:g} x {old:.1f} bets/s: {fitted:.1f} fitted from the session's start"
            self._rate_probe_wait = max(self._rate_probe_wait, _RATE_PROBE_SETTLED)  # good to a few per cent
            episode.refine = True
            episode.settle_least = _RATE_SETTLED_MIN
        elif old is not None:
            new = min(old, measured or old) * _RATE_DECREASE
            why = f"{_RATE_DECREASE:g} x {min(old, measured or old):.1f} bets/s"
            episode.refine = True
        elif measured is not None:
            new, why = measured * _RATE_MARGIN, f"{_RATE_MARGIN:g} x {measured:.1f} bets/s measured before it"
            episode.refine = True
        else:
            return False
        self._rate_held = None
        self._rate_step = _RATE_PROBE - 1
        self.slow_start = False
        self.decreases += 1
        self.learned_rate = new if self.target_rate is None else min(new, self.target_rate)
        self._rate_moved_at = self.clock()
        self._round.clear()  # the replies in flight were sent at the old limit
        self._round_started = self._rate_moved_at
        self._set(self.goal(), reason, f"the site answered {reason} at {self.limit} in flight: "
                  f"rate ceiling {self.learned_rate:.1f} bets/s ({why})", always=True)
        return True

    def _end_run(self, episode: _Episode | None, refused: float) -> None:
        """A push-back that starts an episode ends a run: from the session's start (no episode before) or from
        the resume after `episode`'s pause. Keep when the site saw each bet it took in it.

        Only a run sent under one ceiling all along counts (a probe or a new figure in it: the site's bucket may
        have filled meanwhile), and one whose start is still among the reply times kept."""
        full = len(self._replied_at) == self._replied_at.maxlen
        if episode is None:  # the session's start, unless its first replies are no longer kept
            start: float | None = self._seen_at[0] if self._seen_at and not full else None
            under = None
        else:
            start, under = episode.resumed, episode.resumed_under
            if under is None or under != self.learned_rate:
                return
        # Every bet the site saw from the start on was replied to after it: the oldest reply kept must be older.
        if start is None or start >= refused or (full and self._replied_at[0] >= start):
            return
        taken = sorted(seen for replied, seen in zip(self._replied_at, self._seen_at, strict=True)
                       if replied >= start and start <= seen < refused)
        if taken:
            self._runs.append(_Run(taken=tuple(taken), refused=refused, ceiling=under))

    def _rate_from_runs(self, failed: float, refused: float) -> tuple[float, bool] | None:
        """The site's rate R from the run that ended at this push-back (`refused`: when the site saw its first
        refused bet, `failed`: the ceiling it ran at) and a kept one of a different length, and whether that
        one is the session's start; None: no figure.

        A token bucket of burst B and rate R that is full at a run's start (a session on an idle site; the
        refill of a Retry-After pause) refuses once it took B + R x t bets, t seconds in, however fast they
        came: R is the rate at which two runs need the same burst (with a run at each of two ceilings,
        (a1 - a2) / (t1 - t2)). It is sought between `_RUN_RATE_LEAST` of the ceiling that just `failed` and
        that ceiling. None when no rate there fits (a fixed window takes as many bets in a short run as in a
        long one), or when the runs' lengths differ by less than `_RUN_SPREAD_LEAST` (a bet either way would
        move the figure too far).

        Two runs after pauses come first: the same pause refilled the bucket alike. The session's start may
        have found it part-spent (a session just before, a restart): paired with a longer run that reads R too
        high, never too low; with a shorter one, too low. So it pairs only with a longer run."""
        runs = self._runs
        if len(runs) < 2 or runs[-1].refused != refused or runs[-1].ceiling != failed:
            return None
        last = runs[-1]
        low, high = _RUN_RATE_LEAST * failed, failed
        best: tuple[bool, float, _Run, bool] | None = None
        for other in list(runs)[:-1]:
            at_low = other.burst(low) - last.burst(low)
            at_high = other.burst(high) - last.burst(high)
            # The gap's slope is the difference of the runs' lengths (over the stretches that set their bursts):
            # rising where the last run is the longer.
            spread = abs(at_high - at_low) / (high - low)
            resumed = other.ceiling is not None
            if (at_low * at_high <= 0 and spread >= _RUN_SPREAD_LEAST and (resumed or at_high > at_low)
                    and (best is None or (resumed, spread) > best[:2])):
                best = (resumed, spread, other, at_high > at_low)
        if best is None:
            return None
        _, _, other, rising = best
        # Bisection to a millionth of the range. Each burst() is one pass over a run's bets (a few thousand at
        # most): 18 ms for 3,000 bets here, at a push-back, while the site's Retry-After pauses every bet anyway.
        for _ in range(20):
            middle = (low + high) / 2
            if (other.burst(middle) > last.burst(middle)) == rising:
                high = middle
            else:
                low = middle
        return (low + high) / 2, other.ceiling is None

    def _settle(self, episode: _Episode) -> None:
        """What the site accepted of the bets on their way at a push-back, from its first refusal on, is its rate.

        Once it refused a bet its limit was spent: from then on, every bet it took, it took as its limit allowed
        one more (a token bucket's refill, a window's slide). So the bets it accepted between its first and its
        last refusal, per second of that span, are the site's rate itself, with no burst in it, exact to a bet
        at either end. Refusals all in one bunch (slow start sends a limit's worth of bets at once) give no
        span, and the guess stays: the bets it accepted after them, up to the last one on its way, would be a
        floor of its rate if the client's own timing did not blur when the site saw them (it gave 1.4 x the
        rate on a busy machine). Called at each of their replies,
        so the figure is there as soon as they are back: the bets sent after a Retry-After pause go at it, not
        at the first guess. Too few of them (fast replies, few in flight): the rate learned before it stays."""
        if not episode.refine or self.learned_rate is None:
            return
        first = episode.first_seen
        shortest = max(_RATE_SPAN_LEAST * (self.recent_latency or 0.0), _RATE_SPAN_LEAST_S)
        accepted = 0
        for replied, seen in zip(reversed(self._replied_at), reversed(self._seen_at), strict=True):
            if replied < first:
                break  # seen earlier still
            accepted += first < seen < episode.last_refused
        span = episode.last_refused - first
        if accepted < episode.settle_least or span < shortest:
            return
        site_rate = accepted / span
        if accepted >= _RATE_SETTLED_MIN:  # good to a few per cent: the first probe waits longer
            self._rate_probe_wait = max(self._rate_probe_wait, _RATE_PROBE_SETTLED)
        new = _RATE_MARGIN_SATURATED * site_rate
        if self.target_rate is not None:
            new = min(new, self.target_rate)
        if episode.logged_rate is not None and abs(new - episode.logged_rate) < _RATE_LOG_STEP * new:
            return  # each reply moves it a little: a change of the ceiling and the limit per few per cent
        episode.logged_rate = self.learned_rate = new
        self._set(self.goal(), episode.reason, f"rate ceiling {new:.1f} bets/s ({_RATE_MARGIN_SATURATED:g} x "
                  f"{site_rate:.1f} bets/s accepted between its first and last refusal, {episode.refused} refused)",
                  always=True)

    def _probe_rate(self) -> None:
        """After a quiet at a ceiling that binds, try 5 % more; one that held becomes the ceiling.

        Probes in a row that hold double the step, up to `_RATE_STEP_MOST`: a first figure well below the
        site's limit (slow start still ramping up when the 429 came) climbs back within seconds, not
        minutes; the first push-back sets the step back to 5 %."""
        learned = self.learned_rate
        if learned is None or self.clock() - self._rate_moved_at < self._rate_probe_wait:
            return
        if self._rate_held is not None:  # the last probe lasted the wait: it held
            self._rate_held = None
            self._rate_step = min(_RATE_STEP_MOST, self._rate_step * 2)
        measured = self.measured_rate()
        if measured is None or measured < _RATE_BINDING * learned:
            return  # the ceiling does not bind: the client or the replies are slower; more would be untested
        if self.target_rate is not None and learned >= self.target_rate:
            return
        self._rate_held = learned
        self.learned_rate = learned * (1 + self._rate_step)
        if self.target_rate is not None:
            self.learned_rate = min(self.learned_rate, self.target_rate)
        self._rate_moved_at = self.clock()
        self._set(self.goal(), "probe", f"{self._rate_probe_wait:g} s without push-back at {learned:.1f} bets/s "
                  f"({measured:.1f} measured): rate ceiling {self.learned_rate:.1f} bets/s", always=True)

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
        if self.learned_rate is not None:
            self._follow_learned_rate()
            return
        slow = baseline is not None and median > baseline * self.latency_factor + _LATENCY_SLACK
        # One slow round is no signal: a client short of CPU (a busy machine, the garbage collector) stalls
        # its event loop for tens of ms, and at 20 ms replies that alone doubles a round's median.
        self._slow_rounds = self._slow_rounds + 1 if slow else 0
        rebase, self._rebase_if_slow = self._rebase_if_slow, False
        if slow and rebase:
            # Fewer bets in flight did not bring the replies back: the site itself is slower now. That is the
            # new baseline; cutting again would only walk the limit down to 1 for nothing.
            self._round_medians.clear()
            self._round_medians.append(median)
        elif self._slow_rounds >= _SLOW_ROUNDS:
            assert baseline is not None  # noqa: S101 - slow implies a baseline
            self.slow_start = False
            self._cut("latency", f"median reply {median * 1000:.0f} ms, baseline {baseline * 1000:.0f} ms "
                      f"({_SLOW_ROUNDS} rounds)")
            self._rebase_if_slow = True
            self._slow_rounds = 0
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

    def _follow_learned_rate(self) -> None:
        """Under a learned ceiling the token bucket holds the rate the site sees: the limit is Little's N for it.

        No latency cut and no hold on queueing then: more bets in flight than the rate needs wait in the
        engine's bucket, not at the site, and replies slowed by a client short of CPU (at 20 ms, a busy
        machine doubles them) would otherwise cut the rate below the ceiling for nothing. One above Little's
        N is kept: following every wobble of the mean reply time would move the limit every other round."""
        self._probe_rate()
        goal = self.goal()
        if self.limit > goal + 1:
            self._set(goal, "target", self._little_detail())
        elif self.limit < goal:
            self._set(goal, "little", self._little_detail())

    def _little_detail(self) -> str:
        return (f"{self.rate:.4g} bets/s x {(self.recent_latency or 0) * 1000:.0f} ms mean reply "
                f"x {_HEADROOM:g} headroom")

    def _cut(self, reason: str, detail: str, factor: float | None = None) -> None:
        self.decreases += 1
        self._set(max(1, math.floor(self.limit * (factor or self.decrease))), reason, detail)
        self._round.clear()  # the replies in flight were sent at the old limit
        self._round_started = self.clock()
        self._rounds_since_step = 0

    def _set(self, new: int, reason: str, detail: str, *, always: bool = False) -> None:
        """Move the limit; `always`: record the change even if the limit stays (the rate ceiling moved)."""
        new = max(1, min(self.ceiling, new))
        if new == self.limit and not always:
            return
        change = PaceChange(at=self.clock(), old=self.limit, new=new, reason=reason, detail=detail,
                            rate=self.held_rate)
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
