// Parses the Prometheus text exposition format (what /metrics serves and what is pushed).
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? ''), value: Number(match[3]) });
  }
  return samples;
}

function parseLabels(block: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const body = block.slice(1, -1);
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    const name = body.slice(i, eq).trim();
    let value = '';
    let j = eq + 2; // skip ="
    for (; j < body.length && body[j] !== '"'; j++) {
      if (body[j] === '\\') {
        j++;
        value += body[j] === 'n' ? '\n' : body[j];
      } else {
        value += body[j];
      }
    }
    labels[name] = value;
    i = j + 2; // skip ",
  }
  return labels;
}
