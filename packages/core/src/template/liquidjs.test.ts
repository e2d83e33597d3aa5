import { describe, expect, it } from 'vitest';
import { FatalError } from '../errors.js';
import { TEMPLATE_ENGINE_PACKAGE, loadLiquid, type LiquidImporter } from './liquidjs.js';

/** An importer for which liquidjs is not installed, as Node reports it. */
const withoutLiquid: LiquidImporter = async () => {
  throw Object.assign(
    new Error(
      "Cannot find package 'liquidjs' imported from /app/node_modules/@sluice/core/dist/template/liquidjs.js",
    ),
    {
      code: 'ERR_MODULE_NOT_FOUND',
    },
  );
};

describe('liquidjs (an optional peer dependency of @sluice/core)', () => {
  it('loads the installed engine', async () => {
    expect(TEMPLATE_ENGINE_PACKAGE).toBe('liquidjs');
    const { Liquid } = await loadLiquid();
    expect(new Liquid().parseAndRenderSync('{{ a | upcase }}', { a: 'x' })).toBe('X');
  });

  it('a missing liquidjs is a fatal error naming the package to install', async () => {
    const error = await loadLiquid(withoutLiquid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as FatalError).message).toBe(
      '@sluice/core/template needs the package "liquidjs" (an optional peer dependency of @sluice/core), which is not installed: ' +
        'run `npm install liquidjs`, or depend on it from the package that imports @sluice/core/template',
    );
    expect((error as FatalError).details).toEqual({ package: 'liquidjs' });
    expect((error as FatalError).cause).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });

  it('passes other failures through: a module liquidjs itself lacks is not reported as liquidjs missing', async () => {
    const broken = Object.assign(
      new Error(
        "Cannot find package 'commander' imported from /app/node_modules/liquidjs/dist/liquid.node.js",
      ),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    await expect(loadLiquid(async () => Promise.reject(broken))).rejects.toBe(broken);
    const syntax = new SyntaxError('Unexpected token');
    await expect(loadLiquid(async () => Promise.reject(syntax))).rejects.toBe(syntax);
  });
});
