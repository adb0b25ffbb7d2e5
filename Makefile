# Two commands: `make run` (a short crab evolution) and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench clean

install: $(STAMP)

# torch first, pinned: pip takes these two from the local disk; other versions download gigabytes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[test,lite,ray]'
	touch $(STAMP)

run: install
	rm -rf runs/demo-crab
	$(BIN)/genart evolve crab --minutes 4 --out runs/demo-crab

test: install
	$(BIN)/python -m pytest -q --durations=12

bench: install
	$(BIN)/genart bench

clean:
	rm -rf $(VENV) *.egg-info
