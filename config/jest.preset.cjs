// The one jest preset: every package's tests run from the repository root against TypeScript sources
// (the "@dc/source" export condition points each @dc package at its src/index.ts), so no build is needed.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: {
    customExportConditions: ['@dc/source', 'node', 'node-addons', 'require', 'default'],
  },
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  // Sources are ESM TypeScript that import './x.js'; map those specifiers back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json', 'node'],
  setupFiles: ['<rootDir>/config/jest.setup.cjs'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // ESM-only dependencies (ml-kmeans and the ml-* packages it imports) are compiled to CommonJS like our sources;
  // jest's module system cannot load them otherwise.
  transformIgnorePatterns: ['/node_modules/(?!(ml-kmeans|ml-distance-euclidean|ml-nearest-vector|ml-spectra-processing|is-any-array)/)'],
  slowTestThreshold: 20,
  // Numerical tests run real ONNX Runtime sessions; give them room on a loaded 2-core machine.
  testTimeout: 60_000,
};
