// The hash router's two verbs, apart from the shell so that views can use
// them: "#/buckets/b1?prefix=a/" -> { name: 'buckets', id: 'b1', params }.
export function parseRoute(hash = location.hash) {
  const [path, query] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').map(decodeURIComponent);
  return { name: parts[0] || '', id: parts.slice(1).join('/') || '', params: new URLSearchParams(query || '') };
}

// Shows an address; the same address again is shown afresh.
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
