import { defineConfig, type Options } from 'tsup';

/**
 * The one tsup preset every package uses: ESM + CJS + declarations for Node 20, one bundle per entry,
 * dependencies left external (tsup's default for everything in package.json).
 */
export function packageConfig(overrides: Options = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    // import.meta.url in the CJS build (worker scripts locate themselves with it).
    shims: true,
    tsconfig: 'tsconfig.build.json',
    ...overrides,
  });
}
