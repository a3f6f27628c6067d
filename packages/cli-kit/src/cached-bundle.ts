import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/**
 * Loads a bin's CommonJS bundle with V8's code cache. Node 20 has no compile cache of its own
 * (`module.enableCompileCache` is 22.1+), so every call compiled oclif and the commands afresh: about
 * a fifth of a `check`. The cache is written once, at build time (scripts/bundle-bins.mjs), beside the
 * bundle; it is used only when it was made from this very text (the file holds a copy of it, compared
 * byte for byte: cheaper than loading node:crypto to hash it) and V8 accepts it (same V8, same
 * flags). Otherwise the bundle compiles as it always did: a cache can make a call faster, never
 * different.
 *
 * A script run by `vm` cannot `import()` on Node 20 when it comes from a code cache, so the bundle's
 * dynamic imports are renamed to `__dxImport(...)` at build time and this loader hands it a real one.
 */
export const BUNDLE_IMPORT = '__dxImport';

/** The scripts this process loaded, by file: writeCodeCache takes what ran in them. */
const loaded = new Map<string, vm.Script>();

const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', BUNDLE_IMPORT];
/** A cache file: the length of the bundle's text (4 bytes), that text, then V8's data. */
const LENGTH_BYTES = 4;

export function codeCachePath(bundleFile: string): string {
  return `${bundleFile}.v8-cache`;
}

function compile(file: string, source: Buffer, cachedData?: Buffer): vm.Script {
  // the wrapper opens on the bundle's first line, so the bundle's lines keep their numbers
  const text = source.toString('utf8');
  return new vm.Script(`(function (${WRAPPER_PARAMS.join(', ')}) {${text}\n})`, { filename: file, cachedData });
}

/** Runs the compiled bundle as the CommonJS module `file`: a later `require(file)` (oclif's, for its commands) gets these exports. */
function evaluate(file: string, script: vm.Script): unknown {
  const require = createRequire(file);
  const module = new Module(file);
  module.filename = file;
  require.cache[file] = module;
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const dynamicImport = (specifier: string): Promise<unknown> => import(specifier);
  try {
    run(module.exports, require, module, file, path.dirname(file), dynamicImport);
  } catch (err) {
    delete require.cache[file];
    throw err;
  }
  module.loaded = true;
  return module.exports;
}

function readCodeCache(file: string, source: Buffer): Buffer | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(codeCachePath(file));
  } catch {
    return undefined;
  }
  const end = LENGTH_BYTES + source.length;
  if (data.length <= end || data.readUInt32LE(0) !== source.length) return undefined;
  return data.subarray(LENGTH_BYTES, end).equals(source) ? data.subarray(end) : undefined;
}

export interface LoadedBundle {
  exports: unknown;
  /**
   * A code cache made from this very text was handed to V8, which did not refuse it (V8 refuses one
   * from another V8 or other flags; one that is not a cache at all it just ignores).
   */
  fromCodeCache: boolean;
}

/**
 * Loads the bundle `file` (an absolute path), from its code cache when it has a good one. With source
 * maps on (`--enable-source-maps`) Node's own loader runs it instead: Node 20 maps only the code its
 * loader compiled, and a stack trace that names the TypeScript matters more than the milliseconds.
 */
export function loadBundle(file: string): LoadedBundle {
  const realFile = fs.realpathSync(file);
  if (process.sourceMapsEnabled) return { exports: createRequire(realFile)(realFile), fromCodeCache: false };
  const source = fs.readFileSync(realFile);
  const cachedData = readCodeCache(realFile, source);
  const script = compile(realFile, source, cachedData);
  const exports = evaluate(realFile, script);
  loaded.set(realFile, script);
  return { exports, fromCodeCache: cachedData !== undefined && !script.cachedDataRejected };
}

/**
 * Writes the code cache of the bundle `file`, with every function compiled so far: a process that
 * ran a command from it (loadBundle) gives a cache that spares the next call compiling that path too;
 * otherwise the bundle is loaded here (its top level only defines its modules). Build time only.
 */
export function writeCodeCache(file: string): number {
  const realFile = fs.realpathSync(file);
  const source = fs.readFileSync(realFile);
  let script = loaded.get(realFile);
  if (script === undefined) {
    script = compile(realFile, source);
    evaluate(realFile, script);
  }
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32LE(source.length);
  const data = Buffer.concat([length, source, script.createCachedData()]);
  fs.writeFileSync(codeCachePath(realFile), data);
  return data.length;
}
