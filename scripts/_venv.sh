# Shared by scripts/test and scripts/demo: create .venv and install ctid into it (once per
# change of setup.cfg), with the given extras; install Debian packages they need.
ensure_venv() {
    local extras="$1"
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    local stamp=".venv/.installed-${extras:-base}"
    if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}"
        touch "$stamp"
    fi
}

apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "${0##*/}: installing $*" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# The desktop pages are in Chinese and English: without a CJK font a browser on this machine
# shows the Chinese as boxes. Debian's WenQuanYi Zen Hei is small and covers GB 18030.
ensure_cjk_font() {
    if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1 || ! apt_install fonts-wqy-zenhei; then
        echo "${0##*/}: no Chinese font installed (Debian: fonts-wqy-zenhei or fonts-noto-cjk);" \
             "Chinese text in the browser will show as boxes" >&2
    fi
}

# The demo's IVR prompts are synthesised (scripts/make-prompts): espeak-ng speaks Mandarin
# (voice cmn) and English, sox turns its output into 8 kHz mono WAV for Asterisk.
ensure_prompt_tools() {
    local missing=()
    command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
    command -v sox >/dev/null 2>&1 || missing+=(sox)
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1 || ! apt_install "${missing[@]}"; then
        echo "${0##*/}: cannot install ${missing[*]} (Debian: apt-get install espeak-ng sox)" >&2
        return 1
    fi
}
