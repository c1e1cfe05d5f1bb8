# churnml — every target has a `## comment`; `make help` lists them.
# Targets that run Python depend on `setup`, so a fresh clone needs no manual step.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data/raw
TRUTH  ?= data/truth
CLIENTS ?= 2000
MONTHS  ?= 24
SEED    ?= 42
CONFIG  ?=
CONFIG_FLAG := $(if $(CONFIG),--config $(CONFIG),)
RETAIL  := ../shared/datasets/online_retail_ii/online_retail_II_combined.parquet

.DEFAULT_GOAL := help
.PHONY: help setup data validate features train tune score demo test test-spark lint format bench bench-list bench-generate \
        bench-features bench-train bench-score bench-spark bench-treeshap mlflow-ui retail clean \
        lists winback postmortem metrics

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install churnml with its dev extras

$(DATA)/clients.parquet: | $(STAMP)
	$(BIN)/churnml generate --out $(DATA) --truth-out $(TRUTH) --clients $(CLIENTS) --months $(MONTHS) --seed $(SEED)

data: $(DATA)/clients.parquet ## Generate the synthetic demo dataset into data/raw (once; delete it to regenerate)

validate: data ## Check data/raw against the data contract and print a summary
	$(BIN)/churnml validate --data $(DATA) $(CONFIG_FLAG)

features: data ## Build the feature table of every weekly snapshot into data/features/
	$(BIN)/churnml features --data $(DATA) $(CONFIG_FLAG) --out data/features/features.parquet

train: data ## Backtest against the baselines, refit on every labeled snapshot, log to MLflow, gate the champion
	$(BIN)/churnml train --data $(DATA) $(CONFIG_FLAG) --truth $(TRUTH)

tune: data ## Tune LightGBM with Optuna on the backtest folds of train (TRIALS=20)
	$(BIN)/churnml tune --data $(DATA) $(CONFIG_FLAG) --trials $(or $(TRIALS),20)

score: data ## Score the latest week: data/scores/<as-of>/ (list, report, manifest)
	$(BIN)/churnml score --data $(DATA) $(CONFIG_FLAG)

# Weeks before the data end at which `make lists` writes back-dated lists (each with 26 weeks of history).
LIST_WEEKS ?= 4 8 12 16 20 24

lists: data ## Back-dated weekly lists LIST_WEEKS before the data end (the post-mortem's list history)
	@for d in $$($(BIN)/python -c "from datetime import timedelta as t; from churnml.config import load_config; \
	    from churnml.contract.io import read_dataset; c = load_config($(if $(CONFIG),'$(CONFIG)',None)); \
	    e = read_dataset('$(DATA)', c.data).as_of.date(); print(*[e - t(weeks=int(w)) for w in '$(LIST_WEEKS)'.split()])"); \
	do $(BIN)/churnml score --data $(DATA) $(CONFIG_FLAG) --as-of $$d || exit 1; done

winback: data ## Win-back list (stage, reason, decision, action) and what worked: data/winback/
	$(BIN)/churnml winback --data $(DATA) $(CONFIG_FLAG)

postmortem: data ## Each churn since the oldest written list against what the lists said: data/postmortem/
	$(BIN)/churnml postmortem --data $(DATA) $(CONFIG_FLAG)

metrics: data ## Churn rate by both formulas, clients and revenue, per month and quarter: data/metrics/
	$(BIN)/churnml metrics --data $(DATA) $(CONFIG_FLAG)

demo: setup data validate train score lists winback postmortem metrics ## Run the whole job end to end on the demo data

TEST_WORKERS ?= auto

test: setup ## Run the test suite but the Spark engine's tests, one test file per worker process (TEST_WORKERS=0: in one process)
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses=4 --dist loadfile --no-loadscope-reorder -m "not spark"

SPARK_TEST_WORKERS ?= 2

test-spark: setup ## Run the Spark engine's tests on local Spark: the same reads, features and lists as Polars (needs Java 17+)
	$(BIN)/pytest -n $(SPARK_TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m spark

lint: setup ## Ruff lint and format check
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: setup ## Format the code with ruff
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

BENCH := data/bench

$(BENCH)/g12/clients.parquet: | $(STAMP)
	$(BIN)/churnml generate --out $(BENCH)/g12 --truth-out $(BENCH)/g12-truth --clients 2000 --months 12 --seed 12

$(BENCH)/g6/clients.parquet: | $(STAMP)
	$(BIN)/churnml generate --out $(BENCH)/g6 --truth-out $(BENCH)/g6-truth --clients 2000 --months 6 --seed 6

$(BENCH)/s300/clients.parquet: | $(STAMP)
	$(BIN)/churnml generate --out $(BENCH)/s300 --truth-out $(BENCH)/s300-truth --clients 300 --months 12 --seed 12

$(BENCH)/shop9/clients.parquet: | $(STAMP)
	$(BIN)/churnml adapt transactions --preset online-retail --input $(RETAIL) --until 2010-09-01 --out $(BENCH)/shop9

bench: data retail $(BENCH)/g12/clients.parquet $(BENCH)/g6/clients.parquet $(BENCH)/s300/clients.parquet $(BENCH)/shop9/clients.parquet ## Benchmark churnml against the usual methods on the backtest folds (generated 24/12/6 months, a 300-account CRM, Online Retail II whole and cut at 9 months) -> docs/benchmarks.md
	$(BIN)/churnml bench models --data $(DATA) --truth $(TRUTH) --folds 4 \
	    --title "Generated CRM, $(CLIENTS) clients x $(MONTHS) months, 90-day horizon" --out docs/benchmarks.md
	$(BIN)/churnml bench models --data $(BENCH)/g12 --truth $(BENCH)/g12-truth --folds 4 \
	    --title "Generated CRM, 2000 clients x 12 months, 90-day horizon" --out docs/benchmarks.md
	$(BIN)/churnml bench models --data $(BENCH)/g6 --truth $(BENCH)/g6-truth --folds 4 \
	    --set label.source=churns --set label.horizon_days=30 \
	    --title "Generated CRM, 2000 clients x 6 months (monthly terms), 30-day horizon" --out docs/benchmarks.md
	$(BIN)/churnml bench models --data $(BENCH)/s300 --truth $(BENCH)/s300-truth --folds 4 \
	    --title "Generated CRM, 300 clients x 12 months, 90-day horizon" --out docs/benchmarks.md
	$(BIN)/churnml bench models --data data/retail --config data/retail/churnml.yaml --folds 4 --test-days 63 \
	    --title "Online Retail II (UCI), adapted, no order in the next 90 days" --out docs/benchmarks.md
	$(BIN)/churnml bench models --data $(BENCH)/shop9 --config $(BENCH)/shop9/churnml.yaml --folds 4 \
	    --title "A shop with 9 months of orders: Online Retail II before 2010-09-01, no order in the next 90 days" --out docs/benchmarks.md

bench-list: setup ## The weekly list's bar (issue 13) on two generated datasets, report checked in headless Chromium
	$(BIN)/python tests/benchmarks/bench_list.py --seeds 42 7 --clients 2000 --months 24 --work /tmp/churnml_bench_list --browser

bench-generate: setup ## Time the generator at 10k clients (BENCH_CLIENTS=100000 for the big run)
	$(BIN)/python tests/benchmarks/bench_generate.py --clients $(or $(BENCH_CLIENTS),10000) --months 24

bench-features: setup ## Features throughput and memory at 10k clients x 24 months
	$(BIN)/python tests/benchmarks/bench_features.py --clients $(or $(BENCH_CLIENTS),10000)

bench-train: setup ## `churnml train` at 10k / 30k / 100k clients x 24 months: time and peak RSS beside the physical floor (BENCH_TRAIN_ARGS="--data 100000=DIR" reuses a dataset)
	$(BIN)/python tests/benchmarks/bench_train.py --clients 10000 30000 100000 --months 24 $(BENCH_TRAIN_ARGS)

bench-score: setup ## Weekly scoring of 100k clients x 13 months (BENCH_DATA=folder to reuse one), every client explained: time, peak memory, the floor
	$(BIN)/python tests/benchmarks/bench_score.py --clients $(or $(BENCH_CLIENTS),100000) --months 13 $(if $(BENCH_DATA),--data $(BENCH_DATA))

bench-spark: setup ## The 100k-client weekly list on local Spark beside Polars, and where Spark's time goes (SPARK_DATA=/tmp/scale/c100k_m13)
	$(BIN)/python tests/benchmarks/bench_spark.py --data $(or $(SPARK_DATA),/tmp/scale/c100k_m13) --driver-memory 8g

bench-treeshap: setup ## Exact TreeSHAP of 100k clients: pattern-wise against plain pred_contrib
	$(BIN)/python tests/benchmarks/bench_treeshap.py --clients $(or $(BENCH_CLIENTS),100000) --months 3

data/retail/clients.parquet: | $(STAMP)
	$(BIN)/churnml adapt transactions --preset online-retail --input $(RETAIL) --out data/retail

retail: data/retail/clients.parquet ## Adapt the shared Online Retail II log into data/retail (once)

mlflow-ui: setup ## Open the MLflow UI on the local tracking store (http://127.0.0.1:5000)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

clean: ## Remove generated data, scores, models, tracking store (keeps .venv)
	rm -rf data/raw data/truth data/features data/scores data/tune data/retail data/bench mlflow.db mlruns mlartifacts
	find models -mindepth 1 ! -name .gitkeep ! -name README.md -exec rm -rf {} +
