// Test support: a small Dockerfile reader, enough to check deploy/container/Dockerfile and to run
// the steps it runs (line continuations, comments, ARG defaults, JSON-form and shell-form commands).

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, ENV, ... */
  keyword: string;
  /** The rest of the instruction, continuations joined, ARGs substituted. */
  args: string;
  /** Index of the stage (FROM) the instruction belongs to; -1 before the first FROM. */
  stage: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { stages: Stage[]; args: Record<string, string> } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const substitute = (s: string) => s.replace(/\$\{(\w+)\}/g, (m, name: string) => args[name] ?? m);
  for (const line of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`unparseable Dockerfile line: ${line}`);
    const keyword = m[1]!.toUpperCase();
    const rest = substitute(m[2]!);
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=');
      args[name!.trim()] = (value ?? '').trim();
      continue;
    }
    if (keyword === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`unparseable FROM: ${rest}`);
      stages.push({ image: f[1]!, name: f[2], instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) throw new Error(`${keyword} before FROM`);
    stage.instructions.push({ keyword, args: rest, stage: stages.length - 1 });
  }
  return { stages, args };
}

/** A JSON-form command (`["node", "x"]`) as an argv; a shell-form one as `sh -c`. */
export function commandArgv(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`bad JSON-form command: ${args}`);
    return parsed;
  }
  return ['sh', '-c', trimmed];
}

/** ENV instructions of a stage (the `KEY=value KEY2=value2` form), merged in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}
