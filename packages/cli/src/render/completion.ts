/**
 * Shell completion scripts. oclif's autocomplete plugin generates the completion of commands and
 * flags (into its cache); these scripts load that and add what it cannot do: after `--beads`,
 * complete the beads ids of recorded jobs, asked of dx-runner at the moment Tab is pressed.
 */

export type CompletionShell = 'bash' | 'zsh';

export interface CompletionPaths {
  bin: string;
  /** oclif's generated bash function file (defines `_<bin>_autocomplete`). */
  bashFunctionFile: string;
  /** The folder holding oclif's generated zsh function `_<bin>`. */
  zshFunctionsDir: string;
}

/** A single-quoted shell word: safe for any path. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** bash and zsh function names allow `-`, not every other character a bin name could have. */
function functionSafe(bin: string): string {
  return bin.replaceAll(/[^A-Za-z0-9_]/g, '_');
}

export function completionScript(shell: CompletionShell, paths: CompletionPaths): string {
  return shell === 'bash' ? bashScript(paths) : zshScript(paths);
}

function bashScript({ bin, bashFunctionFile }: CompletionPaths): string {
  const fn = `_${functionSafe(bin)}_complete`;
  return `# ${bin} completion for bash: commands and flags (oclif's autocomplete), and after --beads the
# beads ids of recorded jobs. Load it from ~/.bashrc:  eval "$(${bin} completion bash)"
# (or save it once:  ${bin} completion bash > ~/.local/share/bash-completion/completions/${bin})
if [ -f ${shellQuote(bashFunctionFile)} ]; then . ${shellQuote(bashFunctionFile)}; fi
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev=""
  [ "$COMP_CWORD" -ge 1 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # bash splits --beads=ID at the "=": the words are --beads, =, ID
  if [ "$cur" = "=" ]; then prev="$prev="; cur=""; fi
  if [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then prev="\${COMP_WORDS[COMP_CWORD-2]}="; fi
  if [ "$prev" = "--beads" ] || [ "$prev" = "--beads=" ]; then
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "$(command ${bin} completion beads-ids 2>/dev/null)" -- "$cur"))
    return 0
  fi
  if declare -F _${bin}_autocomplete >/dev/null; then _${bin}_autocomplete "$@"; fi
}
complete -o default -F ${fn} ${bin}
`;
}

function zshScript({ bin, zshFunctionsDir }: CompletionPaths): string {
  const fn = `_${functionSafe(bin)}_complete`;
  return `# ${bin} completion for zsh: commands and flags (oclif's autocomplete), and after --beads the
# beads ids of recorded jobs. Load it from ~/.zshrc:  eval "$(${bin} completion zsh)"
fpath=(${shellQuote(zshFunctionsDir)} $fpath)
(( $+functions[compdef] )) || { autoload -Uz compinit && compinit; }
autoload -Uz _${bin}
${fn}() {
  local -a ids
  if [[ \${words[CURRENT-1]} == --beads ]]; then
    ids=(\${(f)"$(command ${bin} completion beads-ids 2>/dev/null)"})
    compadd -a ids
    return
  fi
  if [[ \${words[CURRENT]} == --beads=* ]]; then
    ids=(\${(f)"$(command ${bin} completion beads-ids 2>/dev/null)"})
    compadd -P --beads= -a ids
    return
  fi
  _${bin} "$@"
}
compdef ${fn} ${bin}
`;
}
