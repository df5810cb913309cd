#!/usr/bin/env bash
# Light and colour (issue 33, notebooks-notes/light.md): `hone evaluate --light` on the four
# test clips (4 frames scored: each of FFmpeg's 18 settings is scored too) and Set14 (the light
# base alone, without x264: its pictures differ in size), at the issue's damage ("night": gamma 2.2, gain 0.35, tint 1.15/1/0.8, shot noise
# of 60 photons at white and σ 3 levels, x264 CRF 18), the two held-out settings ("held1":
# gamma 1.8, gain 0.5, tint 0.9/1/1.2; "held2": gamma 2.6, gain 0.25, no tint; same noise and
# codec) and no damage ("none": what the correction does to good footage). FFmpeg's tools are
# shown at their best setting against each clip's own truth (a ceiling) and at the eq/colorlevels
# setting that scored best on the *other* clips (the baseline a user could pick beforehand).
# The fine-tune (3 epochs) runs at night and on good footage; the held-out settings score the base.
# Results: bench/out/light/*.json, finished runs skipped. CLIPS, DAMAGES, EPOCHS, FRAMES (default 4) override.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/evaluate-once.sh
out=bench/out/light; mkdir -p "$out"
noise="noise:sigma=3,poisson=32.9+x264:crf=18"  # 255/√60 = 32.9: shot noise of 60 photons at white
declare -A damage=([night]="dark:gamma=2.2,gain=0.35+tint:r=1.15,g=1,b=0.8+$noise"
                   [held1]="dark:gamma=1.8,gain=0.5+tint:r=0.9,g=1,b=1.2+$noise"
                   [held2]="dark:gamma=2.6,gain=0.25+$noise" [none]="")
for name in ${DAMAGES:-night held1 held2 none}; do
    degrade=(); [ -n "${damage[$name]}" ] && degrade=(--degrade "${damage[$name]}")
    for clip in $clips ${SET14:-../shared/data/sr/Set14/x2}; do
        epochs=${EPOCHS:-3}; [ "$name" = held1 ] || [ "$name" = held2 ] && epochs=0  # the fine-tune is scored at night and on good footage
        # Set14's pictures differ in size, and x264 damages one stream: there, the light base alone and no codec.
        if [ -d "$clip" ]; then epochs=0; degrade=(); [ -n "${damage[$name]}" ] && degrade=(--degrade "${damage[$name]%+x264:crf=18}"); fi
        label=$(basename "$clip"); label=${label%.*}; [ -d "$clip" ] && label=Set14
        evaluate_once "$out" "$label-$name-light" --gt "$clip" --light "${degrade[@]}" --epochs "$epochs" --frames "${FRAMES:-4}"
    done
done
PYTHONPATH=bench python3 - "$out" light <<'PY'
from collections import defaultdict
from results import runs
by_damage = defaultdict(list)
for r in runs():
    r["damage"] = r["damages"][0].split("+")[0] if r["damages"] else "none"
    by_damage["+".join(r["damages"]) or "none"].append(r)
def cell(m): return f"{m['psnrY']:6.2f}/{m['lpips']:.3f}" if m else f"{'-':>12}"
cols = ["input", "normalize", "eq, other clips", "levels, other clips", "eq ceiling", "levels ceiling", "base-light",
        "base-light, then base-x1", "base-x1, then base-light", "fine-tuned", "base-x1, then fine-tuned"]
for damage, rs in by_damage.items():
    print(f"\n{damage}: Y-PSNR dB / LPIPS (flicker: input, base-light, base-x1 then base-light, fine-tuned, base-x1 then fine-tuned)")
    print(f"{'clip':14} " + " ".join(f"{c[:13]:>13}" for c in cols))
    for r in rs:
        settings = {m["method"]: m for m in r.get("settings") or []}
        def tool(prefix): return [m for k, m in settings.items() if k.startswith(prefix)]
        def other_choice(prefix):
            # The setting with the best mean Y-PSNR on the other clips of this damage, scored on this one.
            others = [o for o in rs if o is not r and o.get("settings")]
            if not others: return None
            mean = lambda k: sum(next(m["psnrY"] for m in o["settings"] if m["method"] == k) for o in others) / len(others)
            return settings[max((m["method"] for m in tool(prefix)), key=mean)]
        row = {"input": r["by"]["input"], "normalize": max(tool("normalize"), key=lambda m: m["psnrY"]),
               "eq, other clips": other_choice("eq="), "levels, other clips": other_choice("lutrgb"),
               "eq ceiling": max(tool("eq="), key=lambda m: m["psnrY"]), "levels ceiling": max(tool("lutrgb"), key=lambda m: m["psnrY"])}
        row.update({k: r["by"].get(k) for k in cols[6:]})
        flicker = " ".join(f"{r['by'][k]['flicker']:.2f}" for k in ["input", "base-light", "base-x1, then base-light", "fine-tuned", "base-x1, then fine-tuned"] if k in r["by"] and r["by"][k].get("flicker") is not None)
        print(f"{r['clip'][:14]:14} " + " ".join(f"{cell(row[c]):>13}" for c in cols) + f"   {flicker}")
PY
