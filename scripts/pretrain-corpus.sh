#!/usr/bin/env bash
# Gathers the photographs `hone pretrain` trains the base checkpoints on, from
# Debian packages that are downloaded and unpacked into the cache (nothing is
# installed). Only photographs: the packages' drawings and abstract renders are
# left out, and nothing from Set5, Set14 or ../shared is ever included.
# Writes $cache/corpus/photos/<source>-<name> and $cache/corpus/LICENSES.tsv;
# prints the photos folder.
set -euo pipefail
source "$(dirname "$0")/cache.sh"
out="$cache/corpus/photos"
licences="$cache/corpus/LICENSES.tsv"
if [ -s "$licences" ]; then echo "$out"; exit 0; fi

# package | path inside it | author | licence
photos=$(cat <<'LIST'
lomiri-wallpapers-16.04|usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg|Sander Klootwijk|CC-BY-SA-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/Dragonfly_by_Bolly.jpg|"Bolly"|CC-BY-SA-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/Picture_0B_by_freespace.jpg|Trevor "Freespace"|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/Picture_1A_by_freespace.jpg|Trevor "Freespace"|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg|Jakub Mede|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/analogpattern_by_Peter_Nerlich.jpg|Peter Nerlich|CC-BY-SA-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/free_by_Peter_Nerlich.jpg|Peter Nerlich|CC-BY-SA-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg|Peter Nerlich|CC-BY-SA-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0
lomiri-wallpapers-16.04|usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg|Clemens Engelhardt|CC0-1.0
lomiri-wallpapers-16.04|usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0
mate-backgrounds|usr/share/backgrounds/mate/nature/Aqua.jpg|Charles Barbin|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/Blinds.jpg|Lennart Poettering, Andrea Cimitan|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/Dune.jpg|Marco Cogoni, Hylke Bons|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/FreshFlower.jpg|Jens Ansorg|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/Garden.jpg|Charles Barbin|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/GreenMeadow.jpg|Timothy Schellhase, Lapo Calamandrei|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/LadyBird.jpg|Charles Barbin|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/RainDrops.jpg|"blackcombwhistler07"|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/Storm.jpg|Sergey Nazarov|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/TwoWings.jpg|Charles Barbin, Hylke Bons|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/Wood.jpg|Jean-François Fortin Tam|GPL-2+
mate-backgrounds|usr/share/backgrounds/mate/nature/YellowFlower.jpg|Charles Barbin|GPL-2+
plasma-workspace-wallpapers|usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg|Maciej Wiklo|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg|Risto Saukonpää|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg|Dmitri Popov|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg|Risto Saukonpää|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg|Ian Hex|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg|Martin Klapetek|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/Grey/contents/images/2560x1600.jpg|Sigi Sagi|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/Kite/contents/images/2560x1600.jpg|Risto Saukonpää|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg|Risto Saukonpää|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/Path/contents/images/2560x1600.jpg|Risto Saukonpää|LGPL-3
plasma-workspace-wallpapers|usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg|Risto Saukonpää|LGPL-3
python3-skimage|usr/lib/python3/dist-packages/skimage/data/astronaut.png|NASA (Eileen Collins)|public domain
python3-skimage|usr/lib/python3/dist-packages/skimage/data/camera.png|Lav Varshney|CC0
python3-skimage|usr/lib/python3/dist-packages/skimage/data/chelsea.png|Stefan van der Walt|CC0
python3-skimage|usr/lib/python3/dist-packages/skimage/data/coffee.png|Rachel Michetti|CC0
python3-skimage|usr/lib/python3/dist-packages/skimage/data/rocket.jpg|SpaceX|public domain
python3-skimage|usr/lib/python3/dist-packages/skimage/data/hubble_deep_field.jpg|NASA|public domain
python3-skimage|usr/lib/python3/dist-packages/skimage/data/brick.png|CC0Textures (Bricks25)|CC0
python3-skimage|usr/lib/python3/dist-packages/skimage/data/grass.png|CC0Textures|CC0
python3-skimage|usr/lib/python3/dist-packages/skimage/data/gravel.png|CC0Textures (Gravel04)|CC0
LIST
)

packages=$(cut -d'|' -f1 <<<"$photos" | sort -u)
(cd "$tmp" && apt-get download $packages >&2) || {
    echo "pretrain-corpus: could not download $(echo $packages) with apt-get (a Debian 12 machine with network access is needed)" >&2; exit 1; }
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done

mkdir -p "$out.partial"
printf 'file\tpackage\tpath\tauthor\tlicence\n' > "$licences.partial"
while IFS='|' read -r package path author licence; do
    # Plasma photos are named by resolution; the folder above contents/ names them.
    case "$path" in */contents/images/*) name="${path#usr/share/wallpapers/}"; name="${name%%/*}.${path##*.}";; *) name="${path##*/}";; esac
    source_name="${package#python3-}"
    file="${source_name%%-*}-$name"
    cp "$tmp/root/$path" "$out.partial/$file"
    printf '%s\t%s\t%s\t%s\t%s\n' "$file" "$package" "/$path" "$author" "$licence" >> "$licences.partial"
done <<<"$photos"
rm -rf "$out"
mv "$out.partial" "$out"
mv "$licences.partial" "$licences"
echo "$out"
