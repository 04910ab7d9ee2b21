# Two entry points, both from a fresh clone with only Python 3 and make:
#   make demo   set up .venv and run a real example
#   make test   set up .venv (with torch, the oracle) and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build is all the tests need; pin it so pip never pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
# The tv- zoo specs are tested against torchvision's own models (weights loaded, outputs
# compared); its CUDA wheel imports beside the CPU torch through convcalc.backend.tvcompat.
TORCHVISION ?= torchvision==0.28.0

.PHONY: demo test bench clean

$(BIN)/convcalc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.test-deps: $(BIN)/convcalc
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q "$(TORCHVISION)"
	$(BIN)/python -m pip install -q -e '.[test,torch]'
	@touch $@

demo: $(BIN)/convcalc
	$(BIN)/convcalc net zoo:lenet
	$(BIN)/convcalc conv --in 28x28 --k 5 --p 2
	$(BIN)/convcalc pool --in 7 --k 3 --s 2 --ceil --explain
	$(BIN)/convcalc layer "nn.Conv2d(3, 64, 7, 2, 3)" --input 1,3,224,224
	@echo
	@echo 'convcalc is installed in $(VENV)/. To run it from your shell, put it on your PATH:'
	@echo '    export PATH="$$PWD/$(VENV)/bin:$$PATH"'
	@echo 'or install it for good: pipx install .   (or: pip install .)'
	@echo 'Then: convcalc --help, convcalc layers, convcalc zoo.'

test: $(VENV)/.test-deps
	$(BIN)/python -m pytest

bench: $(VENV)/.test-deps
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/net_vs_torchinfo.py
	$(BIN)/python benchmarks/graph_scale.py
	$(BIN)/python benchmarks/import_speed.py
	$(BIN)/python benchmarks/terminal.py

clean:
	rm -rf $(VENV) build *.egg-info
