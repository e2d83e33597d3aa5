// The Kubernetes manifests validate against the Kubernetes API schemas (kubernetes-models),
// and the Dockerfile passes dockerfile-utils' linter and keeps its safety properties.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, 'deploy/kubernetes');
const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment as never,
  'v1/Service': Service as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/Secret': Secret as never,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as never,
};

function manifests() {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => ({
        file,
        object: doc.toJS() as Record<string, any>,
      })),
    );
}

describe('kubernetes manifests', () => {
  it('every manifest validates against its API schema', () => {
    const found = new Set<string>();
    for (const { file, object } of manifests()) {
      const key = `${object.apiVersion}/${object.kind}`;
      const Model = models[key];
      expect(Model, `${file}: unexpected ${key}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), file).not.toThrow();
      found.add(object.kind);
    }
    expect([...found].sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Secret',
      'Service',
    ]);
  });

  it('kustomization lists every manifest', () => {
    const kustomization = parseAllDocuments(
      readFileSync(join(dir, 'kustomization.yaml'), 'utf8'),
    )[0]!.toJS();
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort();
    expect([...kustomization.resources].sort()).toEqual(files);
  });

  it('the deployment probes the server, runs as non-root and drains gracefully', () => {
    const deployment = manifests().find((m) => m.object.kind === 'Deployment')!.object;
    const container = deployment.spec.template.spec.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });

  it('a broken manifest is caught by the validation', () => {
    const deployment = structuredClone(
      manifests().find((m) => m.object.kind === 'Deployment')!.object,
    );
    deployment.spec.replicas = 'two';
    expect(() => new Deployment(deployment as never).validate()).toThrow();
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('passes the linter', () => {
    const problems = lintDockerfile(text);
    expect(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
    // and the linter does catch mistakes
    expect(
      lintDockerfile('FROM node:22\nEXPOSE not-a-port\nHEALTHCHECK CMD\n').length,
    ).toBeGreaterThan(0);
  });

  it('is multi-stage, runs as a non-root user and has a health check', () => {
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
    expect(text).toMatch(/^FROM node:22\.\d+/m);
  });
});
