"""Real datasets bundled with assay, for the demo, the tests and the benchmarks.

Provenance and licences are in ``PROVENANCE.md`` next to this file.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ADULT_CATEGORICAL", "ADULT_COLUMNS", "GERMAN_COLUMNS", "adult_model", "german_value_maps", "load_adult", "load_german"]

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip

ADULT_CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "native-country"]

GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "personal_status_sex", "other_debtors",
    "present_residence", "property", "age", "other_installment_plans", "housing",
    "existing_credits", "job", "people_liable", "telephone", "foreign_worker", "class",
]  # fmt: skip


def _path(name: str) -> str:
    return str(resources.files("assay.datasets").joinpath(name))


def load_adult(split: Literal["train", "test"] = "train", *, drop_missing: bool = True) -> pd.DataFrame:
    """Load UCI Adult (census income) as a pandas DataFrame.

    Values are stripped of their leading space and the test labels of their
    trailing period, so both splits use ``income`` in {``<=50K``, ``>50K``}.

    Examples
    --------
    >>> df = load_adult("test")
    >>> len(df), sorted(df["income"].unique())
    (15060, ['<=50K', '>50K'])
    """
    import pandas as pd

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    df = pd.read_csv(
        _path("adult.data" if split == "train" else "adult.test"),
        header=None,
        names=ADULT_COLUMNS,
        skiprows=1 if split == "test" else 0,
        skipinitialspace=True,
        na_values="?",
    )
    df["income"] = df["income"].str.rstrip(".")
    if drop_missing:
        df = df.dropna().reset_index(drop=True)
    return df


def load_german(*, decode: bool = True) -> pd.DataFrame:
    """Load Statlog German credit; ``class`` is 1 (good) or 2 (bad).

    With ``decode``, coded values (``A91``...) are kept and two derived columns
    are added: ``sex`` (from attribute 9, AIF360's mapping: A92 and A95 female)
    and ``age_group`` (``young`` for age <= 25, else ``older``).

    Examples
    --------
    >>> df = load_german()
    >>> len(df), int((df["class"] == 1).sum())
    (1000, 700)
    """
    import pandas as pd

    df = pd.read_csv(_path("german.data"), sep=" ", header=None, names=GERMAN_COLUMNS)
    if decode:
        df["sex"] = df["personal_status_sex"].map(lambda v: "female" if v in ("A92", "A95") else "male")
        df["age_group"] = df["age"].map(lambda a: "young" if a <= 25 else "older")
    return df


def german_value_maps() -> dict[str, dict[str, str]]:
    """The meaning of each German-credit code, from the UCI documentation."""
    with open(_path("german_values_maps.json")) as fh:
        return json.load(fh)


def adult_model(features: list[str], *, max_iter: int = 100, random_state: int = 0) -> Any:
    """The unfitted model the demo, tests and benchmarks train on Adult: ordinal-encoded categories into HistGradientBoosting.

    The categorical columns among ``features`` are encoded first (unknown values as -1) and declared categorical to the
    booster; the numeric ones pass through after them.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = [c for c in features if c in ADULT_CATEGORICAL]
    return make_pipeline(
        ColumnTransformer([("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical)], remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=max_iter, categorical_features=list(range(len(categorical))), random_state=random_state),
    )
