"""Sweeps: one experiment entry with a `sweep:` block stands for the product of its values.

    - <<: *template
      sweep:
        train_dataset: leave_one_out
        learning_rate: [1e-3, 1e-4]
        curriculum_type: [none, difficulty]

expands, in that key order, into LeaveOut_IEMO_lr1e-3_none, LeaveOut_IEMO_lr1e-3_difficulty, ...
Each generated experiment is the entry with the swept keys set, and is checked like a
hand-written one (schema and config checks); an error names the generated experiment and the
sweep it came from. Names are the parts of the swept values joined by "_", then the entry's
`name` when it has one (the seed's style: `LeaveOut_IEMO_CrossAttn`):

- train_dataset: `leave_one_out` trains on every trainable corpus but one (`LeaveOut_IEMO`),
  `all_combinations` on every non-empty subset that leaves a corpus to test on (`IEMO+MSPI`),
  smallest first; an explicit list of training sets gives their '+' names.
- numbers: a short key (`lr1e-3`, `wd1e-4`, `ep30`; see SHORT_KEYS) and the value, in
  scientific notation below 0.01.
- text: the value (`difficulty`), prefixed by the short key (`sched-none`) when another swept
  key has the same value, so names stay unique.
- booleans: the short key, or `no` and the short key.

Trainable corpora are the configured ones; if any combination of the sweep uses a difficulty
curriculum, only those the difficulty method can score (the seed's "VAD datasets"), so
`LeaveOut_IEMO` means the same training set in every combination that a sweep compares.
"""

import itertools
import re
from typing import cast

from xcorpus.config import DIFFICULTY_CURRICULA, ConfigError, can_score, train_name

TRAIN_SETS = ("leave_one_out", "all_combinations")
SHORT_KEYS = {
    "learning_rate": "lr",
    "weight_decay": "wd",
    "num_epochs": "ep",
    "batch_size": "bs",
    "dropout": "drop",
    "fusion_hidden_dim": "hid",
    "num_attention_heads": "heads",
    "focal_gamma": "gamma",
    "label_smoothing": "ls",
    "curriculum_epochs": "cep",
    "curriculum_start": "cstart",
    "curriculum_type": "cur",
    "curriculum_pacing": "pace",
    "lr_scheduler": "sched",
    "lr_gamma": "lrgamma",
    "lr_step_size": "lrstep",
    "lr_patience": "lrpat",
    "use_curriculum_learning": "curriculum",
    "use_early_stopping": "earlystop",
    "early_stopping_patience": "espat",
    "class_weights": "cw",
    "min_speaker_utterances": "minspk",
}
NOT_SWEPT = frozenset({"name", "sweep"})
NUMBER = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def expand_sweeps(
    experiments: list[dict], given: list[set[str]], corpora: list[str]
) -> tuple[list[dict], list[set[str]], dict[str, str]]:
    """The experiments with each sweep entry replaced by its generated experiments, in place;
    the keys each one was written with (an entry's own plus the swept ones); and generated
    name -> "the sweep of <entry>", for error messages. Entries must have their schema
    defaults filled (the trainable corpora depend on the curriculum)."""
    out, out_given, origins = [], [], {}
    for number, (exp, keys) in enumerate(zip(experiments, given, strict=True), start=1):
        if "sweep" not in exp:
            out.append(exp)
            out_given.append(keys)
            continue
        where = f"the sweep of experiment {exp.get('name', f'#{number}')}"
        for generated in expand_sweep(exp, corpora, where):
            out.append(generated)
            out_given.append((keys - {"sweep"}) | set(exp["sweep"]))
            origins[generated["name"]] = where
    return out, out_given, origins


def expand_sweep(exp: dict, corpora: list[str], where: str = "sweep") -> list[dict]:
    """The experiments of one sweep entry, named, in the product's order of its keys."""
    sweep = exp["sweep"]
    base = {k: v for k, v in exp.items() if k not in NOT_SWEPT}
    values = {key: _values(key, value, where) for key, value in sweep.items()}
    shown = {key: [_part(key, v, values) for v in vals] for key, vals in values.items()}
    if values.get("train_dataset") in [[name] for name in TRAIN_SETS]:
        shown["train_dataset"], values["train_dataset"] = _train_sets(
            values["train_dataset"][0], base, values, corpora, where
        )
    generated: list[dict] = []
    names: dict[str, dict] = {}  # name -> the values that generated it
    for combination in itertools.product(*(range(len(v)) for v in values.values())):
        chosen = {key: values[key][i] for key, i in zip(values, combination, strict=True)}
        parts = [shown[key][i] for key, i in zip(values, combination, strict=True)]
        name = "_".join(parts + ([exp["name"]] if exp.get("name") else []))
        if name in names:
            raise ConfigError(
                f"{where}: {name} is generated twice ({names[name]} and {chosen}); sweep distinct "
                "values"
            )
        names[name] = chosen
        generated.append({"name": name, **base, **chosen})
    return generated


def _values(key: str, value: object, where: str) -> list:
    if key in NOT_SWEPT:
        raise ConfigError(f"{where}: {key} cannot be swept")
    if key == "train_dataset" and value in TRAIN_SETS:
        return [value]
    if not isinstance(value, list) or not value:
        built_in = f" or one of {', '.join(TRAIN_SETS)}" if key == "train_dataset" else ""
        raise ConfigError(f"{where}: {key} must be a non-empty list of values{built_in}")
    if len({repr(v) for v in value}) < len(value):
        raise ConfigError(f"{where}: {key} lists a value twice: {value}")
    return list(value)


def _train_sets(
    built_in: str, base: dict, values: dict[str, list], corpora: list[str], where: str
) -> tuple[list[str], list[list[str]]]:
    """Names and corpus lists of a built-in train_dataset over the trainable corpora."""
    trainable = _trainable(base, values, corpora)
    if built_in == "leave_one_out":
        if len(trainable) < 2:
            raise ConfigError(f"{where}: leave_one_out needs 2 trainable corpora, has {trainable}")
        return [f"LeaveOut_{c}" for c in trainable], [
            [t for t in trainable if t != c] for c in trainable
        ]
    subsets = [
        list(subset)
        for size in range(1, len(trainable) + 1)
        for subset in itertools.combinations(trainable, size)
        if len(subset) < len(corpora)
    ]
    return [train_name(subset) for subset in subsets], subsets


def _trainable(base: dict, values: dict[str, list], corpora: list[str]) -> list[str]:
    """Configured corpora that every combination's difficulty curriculum (if any) can score."""
    methods = set()
    for combination in itertools.product(*values.values()):
        exp = base | dict(zip(values, combination, strict=True))
        if exp["use_curriculum_learning"] and exp["curriculum_type"] in DIFFICULTY_CURRICULA:
            methods.add(exp["difficulty_method"])
    return [c for c in corpora if all(can_score(c, method) for method in methods)]


def _part(key: str, value: object, values: dict[str, list]) -> str:
    """The name part of one swept value."""
    short = SHORT_KEYS.get(key, key)
    if key == "train_dataset":
        # _values gives a train_dataset as a named set or a list of corpora.
        return value if isinstance(value, str) else train_name(cast(list[str], value))
    if isinstance(value, bool):
        return short if value else f"no{short}"
    if isinstance(value, int | float) or (isinstance(value, str) and NUMBER.match(value)):
        return f"{short}{number_text(float(value))}"
    if isinstance(value, list):
        return short + "-".join(map(str, value))
    clash = any(value in other for k, other in values.items() if k != key)
    return f"{short}-{value}" if clash else str(value)


def number_text(x: float) -> str:
    """1e-3 for 0.001, 2.5e-4, 0.2, 30: short, exact for the values people sweep."""
    if x != 0 and abs(x) < 0.01:
        mantissa, exponent = f"{x:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:g}" if not x.is_integer() else str(int(x))


def with_origin(message: str, origins: dict[str, str]) -> str:
    """`message` with the sweep that generated each experiment it names, if one did."""
    named = [
        f"{name} is generated by {origin}"
        for name, origin in origins.items()
        if re.search(rf"(?<![\w.+-]){re.escape(name)}(?![\w.+-])", message)
    ]
    return f"{message} ({'; '.join(named)})" if named else message
