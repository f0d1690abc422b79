# The README's commands: `make run` and `make check`.  CMake does the building;
# this file installs what is missing, then drives CMake and CTest.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
LISTEN     ?= 127.0.0.1:8773
DATA       ?= ./var
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps build run check check-e2e check-asan unit fuzz bench install clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/amibox serve --listen $(LISTEN) --data $(DATA)

check: build
	@scripts/run-tests.sh $(BUILD)

# Slow: real guests booted to the end (tests/e2e), minutes each.
check-e2e: build
	@scripts/run-e2e.sh $(BUILD)

check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAMIBOX_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@scripts/run-tests.sh $(ASAN_BUILD)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAMIBOX_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/run-fuzz.sh $(FUZZ_BUILD)

bench: build
	@bench/run.sh $(BUILD)

# Into $(DESTDIR)$(PREFIX).  Installing for real (no DESTDIR, as root)
# refreshes the dynamic linker's cache (for libnss_amibox.so.2) and, on a
# host run by systemd, also makes the amibox user and /var/lib/amibox and
# reloads systemd, as a package would; enabling the unit, and naming amibox
# on the hosts line of /etc/nsswitch.conf, are left to you.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then \
	  systemd-sysusers $(PREFIX)/lib/sysusers.d/amibox.conf && \
	  systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/amibox.conf && \
	  systemctl daemon-reload && \
	  echo "amibox: installed; start it with: systemctl enable --now amibox"; \
	fi

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
