"""One source of defaults: the YAML shipped in the package, the checkout's configs/default.yaml and the
pydantic defaults are the same settings, key for key and in the same order."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from churnml.config import Config, ConfigError, config_hash, default_config_path, history_hash, load_config

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "churnml"


def _leaves(tree: object, prefix: str = "") -> dict[str, object]:
    """Every leaf of a nested mapping by its dotted key, in the mapping's order."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, object] = {}
    for key, value in tree.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def test_the_checkout_file_is_the_shipped_file() -> None:
    assert (ROOT / "configs" / "default.yaml").read_bytes() == (PACKAGE / "default.yaml").read_bytes()


def test_defaults_are_read_from_the_package() -> None:
    assert default_config_path().resolve() == (PACKAGE / "default.yaml").resolve()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "default.yaml" in package_data["churnml"]


def test_pydantic_defaults_equal_the_yaml_key_for_key() -> None:
    coded = _leaves(Config().model_dump(mode="json"))
    loaded = _leaves(load_config().model_dump(mode="json"))
    assert list(coded) == list(loaded)  # same keys in the same order (the playbook's rule order decides)
    differing = {key: (coded[key], loaded[key]) for key in coded if coded[key] != loaded[key]}
    assert differing == {}
    assert Config() == load_config()


def test_defaults_hold_the_documented_values() -> None:
    cfg = Config()
    assert cfg.train.lightgbm["num_leaves"] == 4
    assert cfg.rules.raise_zone == {
        "cancellation_request": "red",
        "term_lapsed": "red",
        "champion_change": "yellow",
        "vendor_review": "yellow",
        "low_ratings": "yellow",
        "usage_drop": "yellow",
        "payment_trouble": "yellow",
    }
    assert list(cfg.playbooks.rules)[:4] == [
        "cancellation_request",
        "term_lapsed",
        "champion_change",
        "vendor_review",
    ]
    assert cfg.playbooks.families["payments"].role == "sales"
    assert cfg.winback.approaches["moved"].startswith("no attempt")


def test_a_partial_yaml_merges_over_the_defaults_key_by_key(tmp_path: Path) -> None:
    partial = tmp_path / "partial.yaml"
    partial.write_text("train:\n  lightgbm:\n    num_leaves: 31\n")
    cfg = load_config(partial, ["label.horizon_days=30"])
    assert cfg.train.lightgbm["num_leaves"] == 31
    assert cfg.train.lightgbm["learning_rate"] == 0.05  # the other defaults stay
    assert cfg.label.horizon_days == 30


def test_an_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'label\.horizon'"):
        load_config(None, ["label.horizon=30"])


def test_an_installed_copy_of_the_package_loads_its_defaults(tmp_path: Path) -> None:
    """A non-editable install has the package folder and nothing of the checkout: no configs/ above it."""
    shutil.copytree(PACKAGE, tmp_path / "site" / "churnml", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import json; from churnml.config import Config, load_config, default_config_path; "
        "print(json.dumps([str(default_config_path()), load_config() == Config()]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        check=True,
    )
    path, equal = json.loads(run.stdout)
    assert path == str(tmp_path / "site" / "churnml" / "default.yaml")
    assert equal is True


@pytest.mark.parametrize(
    ("source", "windows"), [("inactivity", "scaled"), ("subscriptions", "unknown"), ("churns", "unknown")]
)
def test_label_source_auto_decides_the_unobserved_windows_once_resolved(source: str, windows: str) -> None:
    from churnml.config import with_label_source

    assert Config().features.unobserved_windows == "auto"
    assert with_label_source(Config(), source).features.unobserved_windows == windows
    assert Config.model_validate({"label": {"source": source}}).features.unobserved_windows == windows


@pytest.mark.parametrize("chosen", ["unknown", "scaled"])
def test_an_unobserved_windows_setting_is_kept_whatever_the_label(chosen: str) -> None:
    for source in ("inactivity", "subscriptions"):
        cfg = Config.model_validate({"label": {"source": source}, "features": {"unobserved_windows": chosen}})
        assert cfg.features.unobserved_windows == chosen


@pytest.mark.parametrize(
    ("source", "lifetime"), [("inactivity", True), ("subscriptions", False), ("churns", False)]
)
def test_label_source_auto_decides_the_lifetime_columns_once_resolved(source: str, lifetime: bool) -> None:
    from churnml.config import with_label_source

    cfg = Config()
    assert (cfg.label.source, cfg.features.lifetime) == ("auto", "auto")  # undecided until the data is seen
    resolved = with_label_source(cfg, source)
    assert (resolved.label.source, resolved.features.lifetime) == (source, lifetime)
    # the same config as one that named the source from the start (same hash: history reuse holds)
    assert config_hash(resolved) == config_hash(Config.model_validate({"label": {"source": source}}))


def test_config_for_reads_the_label_source_off_the_folder(tmp_path: Path) -> None:
    from churnml.jobs.common import config_for

    (tmp_path / "clients.csv").write_text("client_id,created_at\na,2024-01-01\n")
    (tmp_path / "payments.csv").write_text("client_id,amount,paid_at\na,10,2024-01-05\n")
    assert config_for(tmp_path, Config()).label.source == "inactivity"
    (tmp_path / "churns.csv").write_text("client_id,churned_at\na,2024-03-01\n")
    assert config_for(tmp_path, Config()).label.source == "churns"
    (tmp_path / "subscriptions.parquet").write_bytes(b"")  # only its name counts here
    assert config_for(tmp_path, Config()).label.source == "subscriptions"
    set_source = Config.model_validate({"label": {"source": "churns"}})
    assert config_for(tmp_path, set_source) is set_source


def test_the_readmes_app_config_loads_and_says_what_it_means(tmp_path) -> None:
    # the config the README shows for a consumer app: every key exists, and the words it sets are used
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("**A consumer app or a shop.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.yaml").write_text(block)
    cfg = load_config(tmp_path / "app.yaml")
    assert (cfg.label.inactivity_days, cfg.label.horizon_days, cfg.rules.no_activity_days) == (28, 14, 14)
    assert (cfg.features.login_noun, cfg.playbooks.escalation_role) == ("session", "")
    assert cfg.playbooks.rules["no_activity"].task.startswith("Win-back message")
    # every family a driver can come from speaks to a consumer (the default families' tasks are B2B)
    tasks = " ".join(
        cfg.playbooks.families[f].task for f in ("usage", "payments", "communication", "support", "account")
    )
    assert not any(word in tasks for word in ("champion", "decision maker", "tariff review"))
    assert cfg.winback.cost_per_attempt == 5
    assert cfg.data.churn_events == ("account_deleted",)
    assert cfg.playbooks.urgency["red"]["A"] == "This week"  # no "with management"


def test_the_readmes_app_config_says_the_subscription_rules_plays_its_own_way(tmp_path) -> None:
    # with a subscriptions table the rules contraction, price_rise and term_lapsed fire too: a pet-food shop's
    # analyst who took this config had 13 auto-ship customers who chose a slower delivery told "Account review: ask
    # why they cut seats or plan, and what would win it back"
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("**A consumer app or a shop.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.yaml").write_text(block)
    rules, shipped = load_config(tmp_path / "app.yaml").playbooks.rules, load_config(None).playbooks.rules
    said = ("contraction", "price_rise", "term_lapsed")
    assert [r for r in said if rules[r] == shipped[r]] == []
    assert [r for r in said if any(w in rules[r].task for w in ("seats", "call", "Account review"))] == []


@pytest.mark.parametrize(
    ("facts", "action", "role", "basis"),
    [
        (  # a lapsed store subscription: the app team's bulk message, not a sales team's renewal call
            {"zone": "red", "tier": "C", "term_state": "Term ended 5 days ago and was not renewed"},
            "Term ended 5 days ago and was not renewed. Win-back e-mail and push: update the payment method or "
            "restart the plan in one tap",
            "success",
            "grace period",
        ),
        (  # lapsed on a failed payment: the payment play, not "Resolve the failed or overdue invoices"
            {
                "zone": "red",
                "tier": "A",
                "term_state": "Term ended 2 days ago and was not renewed",
                "rules": "payment_trouble",
            },
            "Term ended 2 days ago and was not renewed. Payment failed: e-mail and in-app message to update the "
            "payment method",
            "success",
            "grace period, rule: payment_trouble",
        ),
        (  # a monthly plan renews within 6 days (red's urgency: playbooks.renewal_urgent_days): no renewal meeting
            {"zone": "yellow", "tier": "C", "renewal_due": True, "renewal_days": 6},
            "This week: Before the plan renews: a message on what they got from it this month (the term ends in "
            "6 days)",
            "success",
            "renewal due",
        ),
    ],
)
def test_the_readmes_app_config_acts_on_a_lapsed_user_in_bulk(tmp_path, facts, action, role, basis) -> None:
    from pathlib import Path

    from churnml.scoring.playbook import ChosenPlay, ClientFacts, choose_play

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("**A consumer app or a shop.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.yaml").write_text(block)
    cfg = load_config(tmp_path / "app.yaml")
    assert choose_play(ClientFacts(**facts), cfg.playbooks) == ChosenPlay(action, role, basis)


def test_the_readme_says_how_to_set_an_app_stores_grace() -> None:
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    said = "E.g. `label: {source: subscriptions, horizon_days: 30, grace_days: 16}` (or `--set label.grace_days=16`)"
    assert said in readme
    # a store retries a failed renewal past its billing grace (Apple for up to 60 days): the README says so
    assert "Apple for up to 60 days" in readme
    cfg = load_config(
        overrides=["label.source=subscriptions", "label.horizon_days=30", "label.grace_days=16"]
    )
    assert (cfg.label.horizon_days, cfg.label.grace_days) == (30, 16)


def test_several_config_files_merge_in_the_order_given(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from churnml.cli import app

    (tmp_path / "app.yaml").write_text("label: {horizon_days: 14, inactivity_days: 28}\n")
    (tmp_path / "short.yaml").write_text("label: {horizon_days: 7}\n")
    cfg = load_config([tmp_path / "app.yaml", tmp_path / "short.yaml"])
    # the second file wins where both speak, the first keeps what only it says (it was dropped whole)
    assert (cfg.label.horizon_days, cfg.label.inactivity_days) == (7, 28)
    result = CliRunner().invoke(
        app,
        [
            "validate",
            "--data",
            str(tmp_path / "none"),
            "--config",
            str(tmp_path / "app.yaml"),
            "--config",
            "nope.yaml",
        ],
        terminal_width=300,
    )
    assert result.exit_code == 1 and "config file nope.yaml does not exist" in result.output  # it is read


def test_the_defaults_load_from_a_zipped_package(tmp_path) -> None:
    # spark-submit --py-files churnml.whl imports churnml from a zip: default.yaml has no file path there
    import zipfile

    archive = tmp_path / "churnml.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in PACKAGE.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                zf.write(file, Path("churnml") / file.relative_to(PACKAGE))
    code = (
        "import json, churnml.config as c; "
        "print(json.dumps(['.zip' in c.__file__, c.load_config() == c.Config()]))"
    )
    env = {**os.environ, "PYTHONPATH": str(archive)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "[true, true]", out.stderr[-2000:]


def test_urgent_renewals_are_within_the_soon_ones() -> None:
    with pytest.raises(ConfigError, match=r"playbooks.renewal_urgent_days \(40\) must not exceed"):
        load_config(None, ["playbooks.renewal_urgent_days=40"])


@pytest.mark.parametrize(
    ("override", "same_history"),
    [
        ("features.engine=spark", True),
        ("features.login_noun=visit", True),
        ("features.seat_noun=vehicle", True),
        ("data.as_of=2025-01-06", True),
        ("data.name=crm", True),  # a dataset's lists under one name: reused whatever the folder
        ("score.batch_clients=500", True),
        ("rules.overdue_days=30", True),
        # the mailings the communication features leave out
        ("rules.mailing_share=0.5", False),
        ("rules.mailing_min_clients=5", False),
        ("playbooks.renewal_soon_days=45", True),
        ("features.windows=[7,28,91]", False),
        ("label.horizon_days=60", False),
        ("data.churn_events=[account_deleted]", False),
    ],
)
def test_history_hash_changes_only_with_what_the_weekly_probabilities_depend_on(
    override: str, same_history: bool
) -> None:
    base, changed = load_config(None), load_config(None, [override])
    assert config_hash(changed) != config_hash(base)
    assert (history_hash(changed) == history_hash(base)) is same_history


def test_history_hash_changes_with_churnml_s_version() -> None:
    """A release may compute a feature differently: its first list scores the weekly history again."""
    from churnml import __version__

    cfg = load_config(None)
    assert history_hash(cfg) == history_hash(cfg, __version__)
    assert history_hash(cfg, "0.0.1") != history_hash(cfg)


@pytest.mark.parametrize(
    ("override", "read", "message"),
    [
        ("data.csv.separator=;", ";", ""),
        ("data.csv.separator=tab", "\t", ""),
        ("data.csv.separator=;;", None, "the separator is one character"),
        ("data.csv.encoding=latin-1", "iso8859-1", ""),  # Python's name for it
        ("data.csv.encoding=klingon", None, "'klingon' is not a text encoding Python knows"),
        ("data.csv.date_formats=['%d/%m/%Y', '%d/%m/%Y %H:%M']", ("%d/%m/%Y", "%d/%m/%Y %H:%M"), ""),
        ("data.csv.date_formats=['%m/%Y']", None, "a date format names the day, month and year"),
        ("data.csv.date_formats=['%d/%m/%Y %H:%M%z']", None, "a date format with a UTC offset"),
    ],
)
def test_the_csv_reading_options_are_checked(override: str, read, message: str) -> None:
    if message:
        with pytest.raises(ConfigError, match=message):
            load_config(None, [override])
        return
    csv = load_config(None, [override]).data.csv
    assert getattr(csv, override.split(".")[2].split("=")[0]) == read


def test_the_readmes_bank_activity_events_load(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("`label.activity_events` says", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "bank.yaml").write_text(block)
    assert load_config(tmp_path / "bank.yaml").label.activity_events == ("card_payment", "transfer_out")
    assert load_config().label.activity_events is None  # the default: every event
    assert load_config(overrides=["label.activity_events=[transfer_out]"]).label.activity_events == (
        "transfer_out",
    )


def test_a_key_written_twice_in_a_config_file_is_an_error_naming_it(tmp_path: Path) -> None:
    # YAML keeps the last of two equal keys without a word: the shipped defaults held urgent_priorities twice,
    # and a config with two label sections lost the first
    path = tmp_path / "my.yaml"
    path.write_text("label: {source: subscriptions}\nscore: {currency: USD}\nlabel: {horizon_days: 60}\n")
    with pytest.raises(ConfigError, match=r"key 'label' written twice \(lines 1 and 3\): keep one"):
        load_config(path)
    path.write_text("features:\n  low_csat: 2\n  low_csat: 3\n")
    with pytest.raises(ConfigError, match=r"key 'low_csat' written twice \(lines 2 and 3\)"):
        load_config(path)
    path.write_text("label: {source: subscriptions}\nscore: {currency: USD}\n")
    assert load_config(path).label.source == "subscriptions"  # the shipped defaults load: no key twice there
