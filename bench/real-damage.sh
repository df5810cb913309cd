#!/usr/bin/env bash
# Learning the video's own damage on the ground-truth protocol (notebooks-notes/real-damage.md):
# `hone evaluate --scale 4` on each test clip, each DAMAGE (default: a camera blur of σ 1.6
# ground-truth pixels, and none), three ways: today's fine-tune (--lens-sigma 0: no lens
# learnt, ensemble targets), the lens σ given (--lens-sigma 1.6, the oracle; blurred clips only)
# and the automatic choice (no flags: the blur estimated from the clip, and the soft-footage base
# when the clip is soft: its own row). 3 epochs, 16 frames
# scored, bench/temporal-x4.yaml (48² crops: the clips' ×4 downscales are too small for 96²).
# SCALE=2 runs ×2 instead (configs/default.yaml; default damages "lens:sigma=1.0+x264:crf=28
# none"; today's fine-tune and the automatic choice, which starts a compressed clip from the ×2
# real-damage base; MODES=soft is the fine-tune from the ×2 soft-footage base, which nothing
# chooses by itself). MODES=models (×4) is the automatic choice
# with the ×4 real-damage base (configs/real-x4.yaml), Real-ESRGAN's networks and, at lens σ 1.6,
# the single-blur ceiling (configs/ceiling-x4.yaml; trained first when missing) scored beside
# it as they are (--also). Results: bench/out/real-damage/*.json, finished runs skipped; a table
# at the end. CLIPS, DAMAGES ("none" for a clean downscale), MODES, EPOCHS, FRAMES, TAG and
# EXTRA override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/evaluate-once.sh
scale=${SCALE:-4}
if [ "$scale" = 4 ]; then config=(--config bench/temporal-x4.yaml); damages=${DAMAGES:-"lens:sigma=1.6 none"}
else config=(); damages=${DAMAGES:-"lens:sigma=1.0+x264:crf=28 none"}; fi
epochs=${EPOCHS:-3} frames=${FRAMES:-16} tag=${TAG:-x$scale}
out=bench/out/real-damage; mkdir -p "$out"
ceiling=${CEILING:-bench/out/ceiling-x4.safetensors}
if [[ " ${MODES:-} " == *" models "* ]] && [ ! -s "$ceiling" ]; then  # the single-blur ceiling, about 15 minutes
    .build/release/hone pretrain --images "$(bash scripts/pretrain-corpus.sh)" --scale 4 --config configs/ceiling-x4.yaml --steps 6000 \
        --epoch-steps 250 --checkpoint checkpoints/base-x4.safetensors -o "$ceiling" --log "${ceiling%.safetensors}.log.tsv"
fi
for damage in $damages; do
    degrade=(); [ "$damage" = none ] || degrade=(--degrade "$damage")
    modes="today auto"; [ "$damage" = "lens:sigma=1.6" ] && [ "$scale" = 4 ] && modes="today oracle auto"
    [ "$scale" = 2 ] && modes="today auto"
    modes=${MODES:-$modes}
    for clip in $clips; do
        for mode in $modes; do
            case $mode in today) how=(--lens-sigma 0);; oracle) how=(--lens-sigma 1.6);; auto) how=();; soft) how=(--checkpoint checkpoints/base-x2-soft.safetensors);;
                models) how=(--also checkpoints/base-x4-real.safetensors --also realesrgan-animevideov3-x4)
                      [ "$damage" = "lens:sigma=1.6" ] && how+=(--also "$ceiling" --also realesrgan-x4plus);;
            esac
            evaluate_once "$out" "$(basename "${clip%.*}")-${damage//[:=,+]/-}-$mode-$tag" --gt "$clip" --scale "$scale" "${degrade[@]}" \
                --epochs "$epochs" --frames "$frames" "${config[@]}" "${how[@]}"
        done
    done
done
PYTHONPATH=bench python3 - "$out" "$tag" <<'PY'
from results import runs
# The runs with other models beside ("fine-tuned" is the automatic choice; the rest as they are).
real = [r for r in runs() if "base-x4-real" in r["by"]]
if real:
    names = ["bicubic", "base", "base-x4-soft", "base-x4-real", "fine-tuned", "ceiling-x4", "realesrgan-animevideov3-x4", "realesrgan-x4plus"]
    print(f"{'clip':16} {'damage':30} " + " ".join(f"{n[:13]:>13}" for n in names))
    for r in real:
        by = r["by"]
        if "soft base" in by: by["base-x4-soft"] = by["soft base"]  # its name before session 15
        cells = [f"{by[n]['psnrY']:6.2f}/{by[n]['lpips']:.3f}" if n in by else f"{'-':>13}" for n in names]
        print(f"{r['clip']:16} {'+'.join(r['damages']) or 'none':30} " + " ".join(cells))
print(f"{'clip':22} {'damage':16} {'fine-tune':8} {'base':>7} {'start':>7} {'tuned':>7} {'vs base':>8} {'LPIPS base':>10} {'tuned':>7}")
for r in runs():
    by = r["by"]
    mode = r["checkpoints"][0].split("-")[-2]
    b, t = by["base"], by["fine-tuned"]
    # The start the automatic choice picked, under its file's name ("soft base" before session 15).
    start = next((by[n] for n in ("base-x4-soft", "base-x4-real", "base-x2-real", "base-x2-soft", "soft base") if n in by), None)
    soft = f"{start['psnrY']:7.2f}" if start else f"{'-':>7}"
    print(f"{r['clip']:22} {'+'.join(r['damages']) or 'none':16} {mode:8} {b['psnrY']:7.2f} {soft} {t['psnrY']:7.2f} {t['psnrY'] - b['psnrY']:+8.2f} "
          f"{b['lpips']:10.4f} {t['lpips']:7.4f}")
PY
