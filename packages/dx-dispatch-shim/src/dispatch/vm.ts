/**
 * The legacy tool's VM names: `cc-glm`/`local` ran Claude Code on GLM, `gemini` ran Gemini, and every
 * host (epyc6, epyc12, macmini, …) ran OpenCode. The policy's `dispatch.hosts` maps hosts explicitly.
 */
export function providerForVm(vm: string, hosts: Record<string, string>): string {
  if (hosts[vm]) return hosts[vm];
  const name = vm.toLowerCase();
  if (name === 'cc-glm' || name === 'local') return 'cc-glm';
  if (name === 'gemini') return 'gemini';
  return 'opencode';
}
