# Sourced by the bench/*.sh drivers: the machine's dependencies
# (scripts/deps.sh), then `need PKG...` installs Debian packages that are
# missing (the anchors: scikit-learn, XGBoost, statsmodels, pandas).
bash scripts/deps.sh
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
need() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
