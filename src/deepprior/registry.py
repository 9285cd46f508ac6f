"""The one registry of methods: what each serves, takes, costs and how it runs.

Every interface (the task functions and ``deepprior.run``, the command line, ``deepprior bench``,
the web page and the batch runner) asks this module which method runs a task, with which
configuration, and what it accepts; none of them names a method itself.

A method is a ``Method`` entry: the tasks it serves, its configuration class and named presets,
the run options it takes, whether it needs σ, a cost model, its benchmark variants and a ``run``
function from a ``Job`` (``deepprior.tasks``) to a ``Result``. ``register`` adds one; the
built-in methods are registered at the bottom of this file.

>>> choose("denoise", "auto", {})
('n2n', 'the default for denoise (shipped Noise2Noise model: see the README, Results)')
>>> choose("denoise", "auto", {"iters": 100})[0]
'dip'
>>> [m.name for m in methods_for("super-resolve")]
['zssr', 'dip']
>>> choose("inpaint", "auto", {}, preset_task="restore")[0]  # a keep-mask: tasks.mask_kind
'n2n'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .errors import InputError
from .problem import Problem, Result
from .runtime import Cost
from .tasks import TASKS, Job

# The run options every method is asked about (None or an empty sequence: not given). ``device``
# applies to all. Task inputs (mask, factor, σ…) belong to the task (``tasks.TASKS``).
OPTIONS = (
    "preset",
    "iters",
    "seed",
    "config",
    "callbacks",
    "resume",
    "early_stop",
    "ensemble",
    "loss",
    "reference",
)


@dataclass
class RunOptions:
    """The options of one run, as the caller gave them (None: not given)."""

    preset: Any = None
    iters: int | None = None
    seed: int | None = None
    config: Mapping[str, Any] | None = None
    callbacks: tuple = ()
    resume: str | None = None
    early_stop: bool | str | None = None
    ensemble: bool | None = None
    loss: Any = None
    reference: Any = None
    device: torch.device = torch.device("cpu")

    def given(self) -> dict[str, Any]:
        """The options that were given, by name."""
        return {
            name: value
            for name in OPTIONS
            if (value := getattr(self, name)) is not None and not (name == "callbacks" and not value)
        }


@dataclass(frozen=True)
class Method:
    """One way to run one or more tasks.

    name:      its name in ``method=``, ``--method``, configs and checkpoints.
    title:     its name in words ("Deep Image Prior").
    summary:   one line for ``--help`` and the page.
    tasks:     the tasks it serves (``tasks.TASKS``).
    run:       ``run(method, job, options) -> Result`` (the image as (H, W, C) float in [0, 1]).
    options:   the run options it takes (of ``OPTIONS``).
    config:    its configuration dataclass, or None.
    presets:   preset name → ``fields(preset_task, sigma_255, factor) -> dict`` of ``config`` fields;
               the first is the default.
    needs_sigma: the noise level is used (estimated from the image when not given).
    cost:      ``cost(method, job, options) -> Cost``: FLOPs and peak memory before starting.
    preset_tasks: the jobs it serves by their preset-table key (``Job.preset_task``), when not
               all of its tasks' (empty: all).
    variants:  the benchmark's entries of this method: bench name → run options and task inputs
               (``tasks``: the tasks of the entry, if fewer than the method's).
    """

    name: str
    title: str
    summary: str
    tasks: tuple[str, ...]
    run: Callable[[Method, Job, RunOptions], Result]
    options: frozenset[str] = frozenset()
    config: type | None = None
    presets: Mapping[str, Callable[[str, float, int], dict[str, Any]]] = field(default_factory=dict)
    needs_sigma: bool = False
    cost: Callable[[Method, Job, RunOptions], Cost] | None = None
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    preset_tasks: tuple[str, ...] = ()

    def serves(self, preset_task: str | None) -> bool:
        """Whether it runs jobs of this preset-table key (None: not known yet, assumed)."""
        return not self.preset_tasks or preset_task is None or preset_task in self.preset_tasks

    def refusal(self, option: str, value: Any) -> str | None:
        """Why this method cannot take ``option=value`` (None if it can); ``sigma``, the noise
        level of a denoising task, counts as an option of the methods that use it."""
        if option == "sigma":
            return None if self.needs_sigma else f"sigma does not apply to the {self.name} method"
        if option not in self.options:
            return f"{option} does not apply to the {self.name} method"
        if option == "preset" and not (
            isinstance(value, str) and value in self.presets or self.config and isinstance(value, self.config)
        ):
            kind = "name" if isinstance(value, str) else type(value).__name__
            return (
                f"the {value if isinstance(value, str) else kind} preset is not one of "
                f"the {self.name} method's "
                f"({', '.join(self.presets)})"
            )
        if option == "config":
            known = {f.name for f in dataclasses.fields(self.config)}
            unknown = sorted(set(value) - known)
            if unknown:
                settings = self.config.__name__
                return f"{', '.join(unknown)} is not a setting of the {self.name} method ({settings})"
        return None

    def check(self, given: Mapping[str, Any]) -> None:
        """Raise InputError naming the first given option that this method cannot take."""
        for option, value in given.items():
            reason = self.refusal(option, value)
            if reason:
                raise InputError(reason)

    def takes(self, given: Mapping[str, Any]) -> bool:
        return all(self.refusal(option, value) is None for option, value in given.items())

    def configure(self, job: Job, options: RunOptions) -> Any:
        """The configuration of this run: the preset (by name, or a config object), then
        ``iters``, ``seed``, ``ensemble`` and ``config`` on top."""
        overrides = dict(options.config or {})
        overrides.update(
            {k: v for k, v in (("iters", options.iters), ("seed", options.seed)) if v is not None}
        )
        fields = {f.name for f in dataclasses.fields(self.config)}
        if options.ensemble is not None and "ensemble" in fields:
            overrides["ensemble"] = options.ensemble
        preset = next(iter(self.presets)) if options.preset is None else options.preset
        if isinstance(preset, self.config):
            return replace(preset, **overrides)
        sigma = 25.0 if job.sigma is None else 255 * job.sigma
        settings = self.presets[preset](job.preset_task, sigma, job.factor or 4)
        return self.config(**{**settings, **overrides})


METHODS: dict[str, Method] = {}

# Which method ``method="auto"`` runs, per task, in order of preference: the first that takes every
# option the caller gave. Why each default (README, Results):
# - denoise: the shipped Noise2Noise model beats ZS-N2N by about 3 dB on the σ25 colour suite, in
#   seconds per photo, where DIP's paper preset takes hours on a CPU; options of a fitting run
#   (a preset, steps, callbacks, an early stop) mean DIP.
# - super-resolve: ZSSR scored 30.08 dB (Y) on Set5 ×4 in about a minute per image, against 29.90
#   published for DIP (hours on a CPU) and 28.63 for DIP's fast preset at a tenth of the paper's
#   time; an early stop (a DIP rule) or a preset only DIP has means DIP.
# - inpaint and restore: DIP, unless the job's setting says otherwise (below).
# - the other tasks: DIP is the only method.
AUTO: dict[str, tuple[str, ...]] = {
    "denoise": ("n2n", "dip", "zs-n2n"),
    "super-resolve": ("zssr", "dip"),
    "inpaint": ("dip", "n2n"),
    "restore": ("dip", "n2n"),
}
# The same, per preset-table key of a job (``Job.preset_task``) where it differs from the task's:
# - restore (a keep-mask, from ``inpaint`` or ``restore``: ``tasks.KIND_PRESETS``): the shipped
#   Bernoulli Noise2Noise model, in seconds, beat biharmonic interpolation and DIP's fast preset
#   on the development images (README, "Restoration from a fraction of the pixels, and text").
# - inpaint (thin strokes: text, scratches): the same model beat biharmonic interpolation on
#   text masks over the development images, where DIP's default lost to it (README, same section).
AUTO_BY_PRESET_TASK: dict[str, tuple[str, ...]] = {"restore": ("n2n", "dip"), "inpaint": ("n2n", "dip")}
# ``early_stop=True`` watches the signal the suites measured best for the task: the error on held-out
# pixels for denoising; elsewhere the variance of the outputs (ES-WMV), where held-out pixels would be
# observations lost.
EARLY_STOP_SIGNAL = {"denoise": "holdout"}


def register(method: Method) -> Method:
    """Add ``method`` to the registry (replacing one of the same name) and return it."""
    unknown = sorted(set(method.tasks) - set(TASKS))
    if unknown:
        raise InputError(f"method {method.name!r} names unknown tasks: {', '.join(unknown)}")
    METHODS[method.name] = method
    return method


def method(name: str) -> Method:
    """The registered method ``name``."""
    if name not in METHODS:
        raise InputError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def methods_for(task: str, preset_task: str | None = None) -> list[Method]:
    """The methods that serve ``task`` (and, when given, the job's ``preset_task``), the
    automatic choices first."""
    order = AUTO_BY_PRESET_TASK.get(preset_task, AUTO.get(task, ()))
    serving = [m for m in METHODS.values() if task in m.tasks and m.serves(preset_task)]
    return sorted(serving, key=lambda m: order.index(m.name) if m.name in order else len(order))


def choose(task: str, name: str, given: Mapping[str, Any], preset_task: str | None = None) -> tuple[str, str]:
    """The method that runs ``task`` and why, in one line: ``name`` itself (checked against the
    options ``given``), or for ``auto`` the first of the task's methods that takes them all.
    ``preset_task``: the job's key of the preset tables (``Job.preset_task``: for a mask, its
    kind), when known; ``auto`` follows it (``AUTO_BY_PRESET_TASK``)."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    candidates = methods_for(task, preset_task)
    if not candidates:
        raise InputError(f"no method serves {task}")
    if name != "auto":
        chosen = method(name)
        if task not in chosen.tasks:
            raise InputError(
                f"the {name} method does not {task}; for {task} choose one of "
                f"{', '.join(m.name for m in candidates)}"
            )
        if not chosen.serves(preset_task):
            raise InputError(
                f"the {name} method serves the {', '.join(chosen.preset_tasks)} settings, not "
                f"this {task} job's {preset_task} (a mask's kind sets it: kind=, --mask-kind); "
                f"choose one of {', '.join(m.name for m in candidates)}"
            )
        chosen.check(given)
        return name, "asked for"
    default = candidates[0]
    setting = task if preset_task in (None, task) else f"{task} ({preset_task} setting)"
    for candidate in candidates:
        if candidate.takes(given):
            if candidate is default:
                return candidate.name, f"the default for {setting} ({default.title}: see the README, Results)"
            refused = next(o for o, v in given.items() if default.refusal(o, v))
            return candidate.name, f"{refused} was given, which the default ({default.name}) does not take"
    candidates[0].check(given)  # names what the default refuses
    raise AssertionError("unreachable")


def auto_summary(task: str) -> str:
    """What ``method="auto"`` picks for ``task`` before any option, in words (for help texts).

    >>> auto_summary("restore")
    'n2n for a mask of kind text or pixels, else dip'
    """
    from .tasks import KIND_PRESETS

    default = methods_for(task)[0].name
    kinds: dict[str, list[str]] = {}
    for kind, key in KIND_PRESETS.items():
        order = AUTO_BY_PRESET_TASK.get(key)
        if order and order[0] != default and methods_for(task, key)[0].name == order[0]:
            kinds.setdefault(order[0], []).append(kind)
    settings = [f"{name} for a mask of kind {' or '.join(found)}" for name, found in kinds.items()]
    return f"{', '.join(settings)}, else {default}" if settings else default


def variants() -> dict[str, tuple[Method, Mapping[str, Any]]]:
    """The benchmark's entries: bench name → (method, its options)."""
    return {name: (m, opts) for m in METHODS.values() for name, opts in m.variants.items()}


def get_preset(
    task: str,
    name: str = "fast",
    *,
    method: str = "dip",
    sigma: float = 25.0,
    factor: int = 4,
    **overrides: Any,
) -> Any:
    """The configuration of preset ``name`` of ``method`` for the preset task ``task``
    (``presets.PRESET_TASKS``); ``overrides`` replace any of its fields (None values are ignored).

    sigma: noise level on the 0–255 scale (DIP denoising: the paper jitters more at σ ≥ 50).
    factor: super-resolution factor (×8 runs longer with more jitter).

    >>> get_preset("denoise", "paper").iters
    3000
    """
    from .presets import PRESET_TASKS

    if task not in PRESET_TASKS:
        raise InputError(f"unknown task {task!r}; known: {', '.join(PRESET_TASKS)}")
    chosen = globals()["method"](method)
    if PRESET_TASKS[task] not in chosen.tasks:
        raise InputError(
            f"the {method} method serves {', '.join(chosen.tasks)} only, not {PRESET_TASKS[task]}"
        )
    if name not in chosen.presets:
        raise InputError(f"unknown preset {name!r} for {method}; choose one of {', '.join(chosen.presets)}")
    settings = chosen.presets[name](task, sigma, factor)
    return chosen.config(**{**settings, **{k: v for k, v in overrides.items() if v is not None}})


# ----------------------------------------------------------------------------- fitting methods


def fit(method: Method, job: Job, options: RunOptions) -> Result:
    """Run an iterative method (``method.config``'s loop) on the job: callbacks, resume, early stop."""
    from .losses import get_loss
    from .methods.stopping import HOLDOUT, EarlyStopping

    config = method.configure(job, options)
    callbacks = list(options.callbacks)
    if options.early_stop:
        signal = (
            EARLY_STOP_SIGNAL.get(job.task, "variance")
            if options.early_stop in (True, "auto")
            else options.early_stop
        )
        if signal == "holdout" and not config.holdout:
            config = replace(config, holdout=HOLDOUT)
        callbacks.append(EarlyStopping(signal=signal))
    if options.loss is not None:
        job.problem.loss = get_loss(options.loss) if isinstance(options.loss, str) else options.loss
    if job.crops is not None:
        from .crops import fit_each

        def solve_box(problem: Problem, box_callbacks: list, resume: str | None) -> Result:
            return solve(problem, config, device=options.device, callbacks=box_callbacks, resume=resume)

        return fit_each(job.problem, job.crops, solve_box, callbacks, options.resume)
    return solve(job.problem, config, device=options.device, callbacks=callbacks, resume=options.resume)


def solve(
    problem: Problem,
    config: Any,
    *,
    device: str | torch.device = "cpu",
    callbacks: Iterable = (),
    resume: str | None = None,
) -> Result:
    """Run the iterative method that ``config`` configures on ``problem`` (the low-level form of
    ``deepprior.run``); ``resume`` continues from a checkpoint of the same method and configuration."""
    if type(config) not in LOOPS:
        raise InputError(f"no iterative method is configured by a {type(config).__name__}")
    loop = LOOPS[type(config)](problem, config, device)
    if resume is not None:
        loop.load(resume)
    return loop.run(callbacks)


def fit_cost(method: Method, job: Job, options: RunOptions) -> Cost:
    """The cost of the fit: of the whole image, or of its boxes one after the other (``job.crops``:
    their FLOPs add up, the peak memory is the largest box's)."""
    config = method.configure(job, options)
    if job.crops is None:
        return LOOPS[type(config)].cost(job.problem, config)
    from .crops import sub_problem

    costs = [LOOPS[type(config)].cost(sub_problem(job.problem, box), config) for box in job.crops]
    return dataclasses.replace(costs[0], flops=sum(c.flops for c in costs), bytes=max(c.bytes for c in costs))


def _fixed(fields: dict[str, Any]) -> Callable[[str, float, int], dict[str, Any]]:
    """A preset whose settings do not depend on the task, σ or factor."""
    return lambda task, sigma, factor: dict(fields)


def _builtin() -> None:
    from . import n2n, presets
    from .methods import dip, tvfit, zeroshot, zssr

    LOOPS.update(
        {
            dip.DIPConfig: dip.DIPFit,
            zeroshot.ZSN2NConfig: zeroshot.ZSN2NFit,
            zssr.ZSSRConfig: zssr.ZSSRFit,
            tvfit.TVConfig: tvfit.TVFit,
        }
    )
    iterative = frozenset({"preset", "iters", "seed", "config", "callbacks", "resume", "reference"})
    register(
        Method(
            "n2n",
            "shipped Noise2Noise model",
            "the Noise2Noise models shipped with deepprior (grey; Gaussian noise σ ≤ 50/255, "
            "a camera's noise, or a mask's unknown pixels: scattered or thin strokes; seconds)",
            ("denoise", "inpaint", "restore"),
            n2n.run_method,
            frozenset({"ensemble", "reference"}),
            needs_sigma=True,
            cost=n2n.method_cost,
            variants={
                "n2n": {},
                "n2n-ensemble": {"ensemble": True},
                "n2n-single": {"ensemble": False},
                "n2n-white": {"noise": "white", "ensemble": False, "tasks": ("denoise",)},
                "n2n-camera": {"noise": "camera", "ensemble": False, "tasks": ("denoise",)},
            },
            preset_tasks=("denoise", "restore", "inpaint"),
        )
    )
    register(
        Method(
            "zssr",
            "Zero-Shot Super-Resolution",
            "a small net trained on the image's own downscaled copies (about a minute on a CPU)",
            ("super-resolve",),
            fit,
            iterative,
            zssr.ZSSRConfig,
            {"fast": _fixed(presets.ZSSR["fast"]), "paper": _fixed(presets.ZSSR["paper"])},
            cost=fit_cost,
            # the kernel is the task's: the CLI's default, or the protocol's true one with --oracle
            variants={"zssr": {"preset": "fast"}, "zssr-paper": {"preset": "paper"}},
        )
    )
    register(
        Method(
            "dip",
            "Deep Image Prior",
            "a generator fitted to the image (minutes to hours on a CPU)",
            tuple(TASKS),
            fit,
            iterative | {"early_stop", "loss"},
            dip.DIPConfig,
            {"fast": presets.fast, "paper": presets.paper, "decoder": presets.decoder},
            needs_sigma=True,
            cost=fit_cost,
            variants={
                "paper": {"preset": "paper"},
                "fast": {"preset": "fast"},
                "decoder": {"preset": "decoder", "tasks": ("denoise",)},
            },
        )
    )
    register(
        Method(
            "zs-n2n",
            "Zero-Shot Noise2Noise",
            "a tiny net trained between two half-resolution views of the image "
            "(about a minute, lower quality)",
            ("denoise",),
            fit,
            iterative | {"ensemble"},
            zeroshot.ZSN2NConfig,
            {name: _fixed(values) for name, values in presets.ZS_N2N.items()},
            cost=fit_cost,
            variants={
                "zs-n2n": {"preset": "fast"},
                "zs-n2n-paper": {"preset": "paper"},
                "pd-zs-n2n": {"preset": "pd"},
            },
        )
    )
    register(
        Method(
            "tv",
            "total variation",
            "the pixels fitted through the operator with a total-variation penalty (the classical "
            "baseline of MRI and feature inversion; seconds)",
            ("restore",),
            fit,
            iterative | {"loss"},
            tvfit.TVConfig,
            {"fast": _fixed({})},
            cost=fit_cost,
            preset_tasks=("operator",),
        )
    )


LOOPS: dict[type, type] = {}  # configuration class → its StepLoop
_builtin()


def describe(methods: Iterable[Method]) -> str:
    """'name: title, summary' for each method, for help texts."""
    return "; ".join(f"{m.name}: {m.title}, {m.summary}" for m in methods)
