// Bundles the console into OUT_DIR: index.html, console.css and console.js
// (the application and the AWS SDK clients it uses, minified).
// Usage: node console/build.mjs OUT_DIR   (scripts/console-build.sh runs it)
//
// The SDK's clients keep every shape of their service in one schemas
// module, as arrays that name their members through computed keys
// ({ [_xN]: _m }, _xN a string constant).  esbuild cannot prove such keys
// free of side effects, so it would keep all ~2,300 of EC2's shapes (560 kB)
// for the forty actions the console calls.  The plugin below writes those
// keys as the string literals they are, on the way into the bundler, and
// the unused shapes fall away.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUT_DIR');
  process.exit(2);
}

const literalSchemaKeys = {
  name: 'literal-schema-keys',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      async (args) => {
        let text = await readFile(args.path, 'utf8');
        const strings = new Map();
        for (const m of text.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) strings.set(m[1], m[2]);
        // Only keys of object literals: after "{" or ",".
        text = text.replace(/([{,]\s*)\[(_\w+)\]:/g,
          (all, before, name) => (strings.has(name) ? `${before}${strings.get(name)}:` : all));
        return { contents: text, loader: 'js' };
      });
  },
};

// The SDK reads XML in a browser with DOMParser and a walk over the DOM
// (a call into the DOM per node): in Chromium 156, 290-330 ms for one
// DescribeImages page of 1,000 images (730 kB), where its own string
// parser, the one node uses, plain JavaScript, takes 25-50 ms.  So the
// browser build takes the string parser.
const stringXmlParser = {
  name: 'string-xml-parser',
  setup(build) {
    build.onResolve({ filter: /^\.\/xml-parser$/ }, (args) => (
      /[\\/]@aws-sdk[\\/]xml-builder[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), 'xml-parser.js') } : undefined));
  },
};

await mkdir(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(here, 'src', 'main.js')],
  outfile: join(out, 'console.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [literalSchemaKeys, stringXmlParser],
});
await copyFile(join(here, 'src', 'index.html'), join(out, 'index.html'));
await copyFile(join(here, 'src', 'console.css'), join(out, 'console.css'));
await copyFile(join(here, 'src', 'favicon.svg'), join(out, 'favicon.svg'));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`console.js: ${(bytes / 1024).toFixed(0)} KiB minified`);
// What each package weighs in the bundle: node build.mjs OUT --metafile
if (process.argv.includes('--metafile')) {
  await writeFile(join(out, '..', 'console-meta.json'), JSON.stringify(result.metafile));
}
