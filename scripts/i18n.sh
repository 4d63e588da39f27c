#!/usr/bin/env bash
# Extract user-facing texts, merge them into the ru/en catalogs, and compile the catalogs.
# Run after changing texts, translate the new (empty or fuzzy) entries in src/medcity/locale/ru, run again,
# and commit the .po and .mo files together; tests/kit/test_i18n.py fails on anything left untranslated.
set -euo pipefail

cd "$(dirname "$0")/.."
pybabel="${PYBABEL:-.venv/bin/pybabel}"
locale_dir=src/medcity/locale
languages=(ru en)

pot="$(mktemp --suffix=.pot)"
trap 'rm -f "$pot"' EXIT

# Locations without line numbers and sorted msgids keep the diffs small when code moves around.
"$pybabel" extract --mapping-file=babel.cfg --output-file="$pot" \
    --project=medcity --copyright-holder="medcity contributors" \
    --add-comments=Translators: --add-location=file --sort-output --width=110 .

for lang in "${languages[@]}"; do
    if [[ -f "$locale_dir/$lang/LC_MESSAGES/messages.po" ]]; then
        "$pybabel" update --input-file="$pot" --output-dir="$locale_dir" --locale="$lang" \
            --ignore-obsolete --width=110
        # When no text changed, only POT-Creation-Date did: keep the committed catalog, so that running this
        # script never leaves a diff that means nothing.
        po="$locale_dir/$lang/LC_MESSAGES/messages.po"
        if git ls-files --error-unmatch "$po" >/dev/null 2>&1 \
            && git diff --quiet -I '^"POT-Creation-Date: ' -- "$po"; then
            git checkout --quiet -- "$po"
        fi
    else
        "$pybabel" init --input-file="$pot" --output-dir="$locale_dir" --locale="$lang" --width=110
    fi
done

"$pybabel" compile --directory="$locale_dir" --statistics
