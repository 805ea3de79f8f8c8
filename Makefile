# The README's two commands are `make demo` and `make test`; both set everything up from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: venv tools test test-thorough check bench demo demo-fleet clean deb pi-check

venv: $(STAMP)

# picamera2 for the tests comes without its dependencies (tests/picamera2-requirements.txt says why).
$(STAMP): pyproject.toml tests/picamera2-requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps -r tests/picamera2-requirements.txt
	touch $(STAMP)

# System tools the tests drive for real (ffprobe, socat, picocom, systemd-analyze).
tools:
	@scripts/install-tools

# CI's profile: the same Hypothesis examples every run (tests/profiles.py).
test: venv tools
	$(PY) -m pip install --quiet 'pyalsaaudio>=0.11'  # the Pi microphone's library, built here
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q

# Twenty times the examples, random: for a developer to run for longer, never in CI.
test-thorough: venv tools
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q -p no:cacheprovider

check: venv
	$(VENV)/bin/ruff check recorder hal sim tests scripts
	$(VENV)/bin/ruff format --check recorder hal sim tests scripts
	$(VENV)/bin/mypy recorder hal sim

bench: venv
	$(PY) -m recorder.bench

demo: venv
	scripts/demo

# The custody path off the camera: a witness and a real Ceph gateway on 127.0.0.1 (their
# Debian packages come from scripts/install-tools, as for make test).
demo-fleet: venv tools
	scripts/demo-fleet

# The Raspberry Pi OS package (architecture all), built from a copy of the sources in DEB_BUILD
# so that no build product lands in the tree; the .deb is left in DEB_OUT. Needs the Debian
# build packages scripts/install-tools installs. The system's tools on PATH, not a venv's.
DEB_OUT   ?= dist
DEB_BUILD ?= build/deb
deb:
	rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD)/src $(DEB_OUT)
	cp -R pyproject.toml README.md LICENSE recorder hal sim systemd debian docs $(DEB_BUILD)/src/
	find $(DEB_BUILD)/src -name __pycache__ -prune -exec rm -rf {} +
	cd $(DEB_BUILD)/src && PATH=/usr/sbin:/usr/bin:/sbin:/bin DEB_BUILD_OPTIONS=nocheck \
		dpkg-buildpackage --build=all --no-sign
	mv $(DEB_BUILD)/bodycam_*_all.deb $(DEB_OUT)/
	rm -rf $(DEB_BUILD)

# The .deb on Debian bookworm arm64 under qemu-user, and the unmodified service under a real
# systemd in an amd64 container (docs/install-pi.md, "Checked without a Pi"). Needs root;
# installs its own host packages (qemu-user-static, debootstrap, systemd-container ...) and
# caches its root file systems in $BODYCAM_PI_CACHE (default /var/cache/bodycam-pi-check).
# Not part of make test.
pi-check:
	scripts/pi-check

# Leaves demo/ alone: it holds evidence, and no command here deletes evidence.
clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
