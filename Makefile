# Two commands do everything on a fresh clone: `make train` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
LESSON ?= linear_regression
# Only a LESSON the user gave: `make train ARGS="resume=<run>"` resumes that run's own lesson.
LESSON_ARG := $(if $(filter file,$(origin LESSON)),,lesson=$(LESSON))
ARGS   ?=
PORT   ?= 6006
FORMAT ?= onnx
LOGS   ?=
STAMP  := $(VENV)/.installed
# .venv's packages with Lightning 2.5.6 in front of them (make test-lightning-2.5)
OLDEST := .venv-lightning-2.5

.PHONY: test-lightning-2.5 test-heavy test-docs help setup train sweep study studies report lessons tensorboard test test-e2e test-slow test-slurm slurm-up slurm-down lint format bench compare clean eval predict figures lr-find export

help:  ## list the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[dev,sweep,export]'
	@touch $@

setup: $(STAMP)  ## create .venv and install the project

train: $(STAMP)  ## run a lesson: make train LESSON=nonlinear_regression ARGS="epochs=2000"
	$(PY) -m lightning_lessons.train $(LESSON_ARG) $(ARGS)

sweep: $(STAMP)  ## every combination, one table: make sweep LESSON=logistic_regression ARGS="seed=1,2,3"
	$(PY) -m lightning_lessons.train -m lesson=$(LESSON) $(ARGS)

study: $(STAMP)  ## a concept as one experiment, one table, one figure: make study NAME=optimizers
	$(PY) -m lightning_lessons.studies $(NAME) $(ARGS)

studies: $(STAMP)  ## list the studies (make study NAME=<name>)
	@$(PY) -m lightning_lessons.studies

report: $(STAMP)  ## mean ± std over seeds of every run under paths.log_dir (LOGS=<folder> for another)
	@$(PY) -m lightning_lessons.report $(LOGS)

lessons: $(STAMP)  ## list every lesson with its defaults
	@$(PY) -m lightning_lessons.lessons

tensorboard: $(STAMP)  ## serve paths.log_dir (LOGS=<folder> for another) on 127.0.0.1
	@logs="$${LOGS:-$$($(PY) -m lightning_lessons.results.runs)}"; mkdir -p "$$logs"; \
	echo "TensorBoard: http://127.0.0.1:$(PORT)/ ($$logs)"; \
	$(VENV)/bin/tensorboard --logdir "$$logs" --host 127.0.0.1 --port $(PORT)

test: $(STAMP)  ## the fast test suite, one worker per core (a file's tests stay together)
	$(PY) -m pytest -n auto --dist loadfile

test-lightning-2.5: $(STAMP)  ## the fast suite on Lightning 2.5.6, the oldest release pyproject.toml allows
	@[ -x $(OLDEST)/bin/python ] || { $(PYTHON) -m venv $(OLDEST) && \
	  echo "import site; site.addsitedir('$$(cd $(VENV) && $(CURDIR)/$(PY) -c 'import site; print(site.getsitepackages()[0])')')" \
	    > "$$($(OLDEST)/bin/python -c 'import site; print(site.getsitepackages()[0])')/lessons-venv.pth" && \
	  $(OLDEST)/bin/python -m pip install --quiet --no-deps lightning==2.5.6; }
	$(OLDEST)/bin/python -c "import lightning; assert lightning.__version__ == '2.5.6', lightning.__version__"
	$(OLDEST)/bin/python -m pytest -n auto --dist loadfile

test-e2e: $(STAMP)  ## TensorBoard dashboards in headless Chromium (installs Debian's chromium if missing)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(PY) -m pytest -m e2e tests/e2e

test-heavy: $(STAMP)  ## tests of several real processes each (kill -9, DDP, sweeps, eval): CI runs them
	$(PY) -m pytest -n auto --dist loadfile -m heavy

test-docs: $(STAMP)  ## every short command of the README and docs/, run as written, page by page
	$(PY) -m pytest -n auto --dist load -m docs tests/test_docs.py

test-slow: $(STAMP)  ## only the slow tests (full-length runs)
	$(PY) -m pytest -m slow

test-slurm: $(STAMP)  ## sweeps, DDP and requeue on a local SLURM cluster (root; installs Debian's slurm)
	$(PY) -m pytest -m slurm tests/slurm

slurm-up:  ## a one-node SLURM cluster here (.slurm/, root); prints the SLURM_CONF to export
	@$(PYTHON) scripts/slurm_cluster.py up

slurm-down:  ## stop it: its jobs cancelled, its daemons stopped by the pids they wrote
	@$(PYTHON) scripts/slurm_cluster.py down

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)  ## every lesson against its plain PyTorch twin, ms per step: make bench ARGS="--lessons mnist_cnn"
	$(PY) scripts/benchmark.py $(ARGS)

compare: $(STAMP)  ## a lesson and its plain twin, same seed: make compare LESSON=linear_regression ARGS="seed=1"
	$(PY) -m lightning_lessons.twins.compare lesson=$(LESSON) $(ARGS)

clean:  ## remove run outputs
	rm -rf logs outputs multirun test-artifacts .pytest_cache .ruff_cache

eval: $(STAMP)  ## test a run's best checkpoint again: make eval RUN=logs/<lesson>/<run>
	$(PY) -m lightning_lessons.eval run="$(RUN)" $(ARGS)

predict: $(STAMP)  ## your own pictures of digits: make predict RUN=logs/mnist_cnn/<run> IMAGES=a.png,b.jpg
	$(PY) -m lightning_lessons.predict run="$(RUN)" images="$(IMAGES)"

lr-find: $(STAMP)  ## Lightning's learning-rate finder: make lr-find LESSON=nonlinear_regression (curve, command)
	$(PY) -m lightning_lessons.lr_find lesson=$(LESSON) $(ARGS)

export: $(STAMP)  ## a run's network as a checked file: make export RUN=logs/<lesson>/<run> FORMAT=onnx|torchscript
	@[ "$(FORMAT)" != onnx ] || $(PY) -c "import onnx, onnxscript, onnxruntime" 2>/dev/null || \
	  $(PY) -m pip install --quiet -e '.[export]'
	$(PY) -m lightning_lessons.export run="$(RUN)" format=$(FORMAT) $(ARGS)

figures: $(STAMP)  ## short real runs -> docs/img/*.png (lesson figures and TensorBoard screenshots)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	@[ -d /usr/share/datasets/fashion-mnist ] || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; }
	$(PY) scripts/figures.py
