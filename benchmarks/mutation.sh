#!/usr/bin/env bash
# Mutation testing of the money modules (mutmut 3; configuration in pyproject.toml [tool.mutmut]).
# Not part of CI: a full run takes about an hour on one core.  Figures and every surviving mutant are
# recorded in docs/mutation.md.
#
#   benchmarks/mutation.sh [REV] [MUTANT_GLOB ...]
#
# REV (default HEAD) is exported with `git archive` into mutation-run/ (or $MUTATION_DIR), so the run
# measures that commit whatever is being edited in the checkout; a second call for the same commit
# reuses the finished mutants.  MUTANT_GLOB narrows the run, e.g. 'claims.engine.caps.*' (default: all eight
# modules).  One child process (--max-children 1), so the machine keeps a core for other work.
# The summary per module is printed at the end and written to mutation-run/summary.txt.
#
# PostgreSQL: the tests' PostgreSQL branches (transitions._load_ids's unnest, the payouts' and advance's
# PostgreSQL paths) run only with RELIEF_TEST_DATABASE_URL set.  Unless it is set already, or
# MUTATION_PG=0, the script uses a database of its own, relief_mut on 127.0.0.1:5432 (created with createdb
# when missing; the tests make and drop one schema each), when pg_isready answers; else SQLite only.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
rev=$(git -C "$root" rev-parse "${1:-HEAD}")
shift || true
work=${MUTATION_DIR:-$root/mutation-run}
mutmut="$root/.venv/bin/mutmut"

if [[ ! -f "$work/.rev" || $(cat "$work/.rev") != "$rev" ]]; then
    rm -rf "$work"
    mkdir -p "$work"
    git -C "$root" archive "$rev" | tar -x -C "$work"
    echo "$rev" > "$work/.rev"
fi
cd "$work"
if [[ -z "${RELIEF_TEST_DATABASE_URL:-}" && "${MUTATION_PG:-1}" != 0 ]] && pg_isready -q -h 127.0.0.1 -p 5432; then
    psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw relief_mut || createdb -h 127.0.0.1 -U postgres relief_mut
    export RELIEF_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/relief_mut
fi
echo "tests' PostgreSQL: ${RELIEF_TEST_DATABASE_URL:-none (SQLite only)}"
"$mutmut" run --max-children 1 "$@" || true  # survivors are the result, not a failure of the script

# per module: mutants, killed (a test failed), timeout (the tests hung: detected too), survived, other
# (no tests / suspicious), unrun (not checked yet); the kill rate is killed + timeout over the mutants run
"$mutmut" results --all true | awk -v rev="$rev" '
    /: / { line = $0; sub(/^ +/, "", line); split(line, kv, ": "); status = kv[2]
           module = kv[1]; sub(/\.[^.]*$/, "", module)  # every dotted part before the function
           total[module]++; count[module, status]++; all[status]++; grand++ }
    function row(name, t, k, o, s, u) {
        printf "%-30s %7d %7d %7d %7d %8d %6d %7.1f%%\n", name, t, u, k, o, s, t - u - k - o - s,
               (t > u ? 100 * (k + o) / (t - u) : 0) }
    END { printf "measured at %s\n%-30s %7s %7s %7s %7s %8s %6s %8s\n", rev, "module", "mutants", "unrun", "killed",
                 "timeout", "survived", "other", "kill rate"
          for (m in total) row(m, total[m], count[m, "killed"], count[m, "timeout"], count[m, "survived"],
                               count[m, "not checked"])
          row("total", grand, all["killed"], all["timeout"], all["survived"], all["not checked"]) }' | tee summary.txt
echo "surviving mutants (show one with: cd $work && $mutmut show NAME):"
"$mutmut" results | grep -v -e ': killed' -e ': timeout' || true
