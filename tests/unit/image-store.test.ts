// The class image store's pure rules: which requests a reader's machine may
// make of the registry, how image names map onto Docker Hub's layout, and
// that the agent inside and the server outside agree on the mirror's address.
import { describe, expect, it } from 'vitest';
import { REGISTRY_GATE_SOCKET, REGISTRY_MIRROR_PORT, depotProfile } from '../../sandbox-server/agent/registry-forwarder.ts';
import { ImageNameError, displayName, parseImageName } from '../../sandbox-server/src/images/image-names.ts';
import { SANDBOX_REGISTRY } from '../../sandbox-server/src/images/paths.ts';
import { READER_NAMESPACE, isReaderRepository, readerNamespace, routeRequest } from '../../sandbox-server/src/images/gate-rules.ts';
import { registryConfig } from '../../sandbox-server/src/images/registry-process.ts';

const digest = `sha256:${'a'.repeat(64)}`;

const own = 'lecteur-0123456789';
const other = 'lecteur-abcdefabcd';

describe('the registry gate, for a machine whose namespace is lecteur-0123456789', () => {
  it("lets through what docker pull asks of the class's images", () => {
    expect(routeRequest('GET', '/v2/', own)).toEqual({ to: 'shared' });
    expect(routeRequest('GET', '/v2/library/busybox/manifests/latest', own)).toEqual({ to: 'shared' });
    expect(routeRequest('HEAD', `/v2/library/debian/manifests/${digest}`, own)).toEqual({ to: 'shared' });
    expect(routeRequest('GET', `/v2/alice/app/blobs/${digest}`, own)).toEqual({ to: 'shared' });
  });

  it("sends pushes and pulls inside its own namespace to the readers' registry, writes counted", () => {
    expect(routeRequest('POST', `/v2/${own}/app/blobs/uploads/`, own)).toMatchObject({
      to: 'reader',
      repository: `${own}/app`,
      write: true,
      stripMount: false,
    });
    expect(routeRequest('PATCH', `/v2/${own}/app/blobs/uploads/5b3c-9a?_state=abc`, own)).toMatchObject({ to: 'reader', write: true, upload: '5b3c-9a' });
    expect(routeRequest('PUT', `/v2/${own}/app/blobs/uploads/5b3c-9a?digest=${digest}`, own)).toMatchObject({ to: 'reader', write: true });
    expect(routeRequest('PUT', `/v2/${own}/web/app/manifests/1.0`, own)).toMatchObject({ to: 'reader', repository: `${own}/web/app`, write: true });
    expect(routeRequest('GET', `/v2/${own}/app/manifests/latest`, own)).toMatchObject({ to: 'reader', write: false });
    expect(routeRequest('HEAD', `/v2/${own}/app/blobs/${digest}`, own)).toMatchObject({ to: 'reader', write: false });
    expect(routeRequest('GET', `/v2/${own}/app/tags/list`, own)).toMatchObject({ to: 'reader', write: false });
    // docker's cancel of its own failed upload
    expect(routeRequest('DELETE', `/v2/${own}/app/blobs/uploads/5b3c-9a`, own)).toMatchObject({ to: 'reader', write: false });
  });

  it('mounts blobs only from its own namespace', () => {
    expect(routeRequest('POST', `/v2/${own}/b/blobs/uploads/?mount=${digest}&from=${own}/a`, own)).toMatchObject({ stripMount: false });
    expect(routeRequest('POST', `/v2/${own}/b/blobs/uploads/?mount=${digest}&from=${other}/a`, own)).toMatchObject({ stripMount: true });
    expect(routeRequest('POST', `/v2/${own}/b/blobs/uploads/?mount=${digest}&from=library/busybox`, own)).toMatchObject({ stripMount: true });
  });

  it("refuses another reader's namespace, read or write", () => {
    for (const [method, url] of [
      ['GET', `/v2/${other}/app/manifests/latest`],
      ['HEAD', `/v2/${other}/app/blobs/${digest}`],
      ['GET', `/v2/${other}/app/tags/list`],
      ['POST', `/v2/${other}/app/blobs/uploads/`],
      ['PUT', `/v2/${other}/app/manifests/latest`],
    ] as const) {
      const route = routeRequest(method, url, own);
      expect(route).toMatchObject({ to: 'refuse' });
      expect(route.to === 'refuse' && route.message).toMatch(/celui d'un autre lecteur.*localhost:5000\/lecteur-0123456789\//);
    }
  });

  it("refuses writes to the class's images, deletes, the catalogue, tag lists and anything else", () => {
    const refusal = (method: string | undefined, url: string | undefined) => {
      const route = routeRequest(method, url, own);
      return route.to === 'refuse' ? route.message : `routed to ${route.to}`;
    };
    expect(refusal('POST', '/v2/alice/app/blobs/uploads/')).toMatch(
      /^les images de la classe sont en lecture seule : poussez vos images dans votre espace, localhost:5000\/lecteur-0123456789\//,
    );
    expect(refusal('PUT', '/v2/library/busybox/manifests/latest')).toMatch(/lecture seule/);
    expect(refusal('PATCH', '/v2/alice/app/blobs/uploads/x')).toMatch(/lecture seule/);
    expect(refusal('DELETE', `/v2/library/busybox/manifests/${digest}`)).toMatch(/lecture seule/);
    expect(refusal('DELETE', `/v2/${own}/app/manifests/${digest}`)).toMatch(/ne supprime pas d'image/);
    expect(refusal('GET', '/v2/_catalog')).toMatch(/ne répond qu'à docker pull et docker push/);
    expect(refusal('GET', '/v2/library/busybox/tags/list')).toMatch(/ne donne pas la liste/);
    expect(refusal('GET', '/debug/vars')).toMatch(/ne répond qu'à/);
    expect(refusal('GET', '/v2/../../etc/passwd/manifests/x')).toMatch(/ne répond qu'à/);
    expect(refusal('GET', `/v2/library/busybox/blobs/sha256:short`)).toMatch(/ne répond qu'à/);
    expect(refusal('GET', `/v2/${'a/'.repeat(300)}b/manifests/latest`)).toMatch(/ne répond qu'à/);
    expect(refusal(undefined, undefined)).toMatch(/ne répond qu'à/);
  });

  it("gives each reader a namespace of its own, the same after a restart, that says nothing of the reader's id", () => {
    expect(readerNamespace('abc')).toMatch(READER_NAMESPACE);
    expect(readerNamespace('abc')).toBe(readerNamespace('abc'));
    expect(readerNamespace('abc')).not.toBe(readerNamespace('abd'));
    expect(readerNamespace('abc')).not.toContain('abc');
    expect(isReaderRepository(`${own}/app`)).toBe(true);
    expect(isReaderRepository('alice/app')).toBe(false);
  });
});

describe('image names', () => {
  it('puts official images under library/, as Docker Hub does', () => {
    expect(parseImageName('busybox')).toEqual({ repository: 'library/busybox', tag: 'latest' });
    expect(parseImageName('debian:bookworm-slim')).toEqual({ repository: 'library/debian', tag: 'bookworm-slim' });
    expect(parseImageName('docker.io/library/nginx:1.25')).toEqual({ repository: 'library/nginx', tag: '1.25' });
    expect(parseImageName('alice/app:1')).toEqual({ repository: 'alice/app', tag: '1' });
    expect(displayName(parseImageName('docker.io/library/busybox'))).toBe('busybox:latest');
  });

  it('says what is wrong with a bad name', () => {
    expect(() => parseImageName('Busybox')).toThrow(ImageNameError);
    expect(() => parseImageName('busybox:')).toThrow(/not a tag/);
    expect(() => parseImageName('registry.example.org/x/y:1')).toThrow(/another registry/);
    expect(() => parseImageName('a b')).toThrow(/not an image name/);
  });
});

describe('registry configuration', () => {
  it("makes the readers' registry read-only on a unix socket, and the instructor's writable on loopback", () => {
    const readOnly = registryConfig({ name: 'r', storageDir: '/s', configDir: '/c', listen: { unixSocket: '/c/r.sock' }, readOnly: true });
    expect(readOnly).toMatch(/readonly:\n\s+enabled: true/);
    expect(readOnly).toMatch(/net: unix\n\s+addr: "\/c\/r.sock"/);
    expect(readOnly).toMatch(/delete:\n\s+enabled: false/);
    const writable = registryConfig({ name: 'w', storageDir: '/s', configDir: '/c', listen: { tcpPort: 5123 }, readOnly: false });
    expect(writable).toMatch(/addr: "127.0.0.1:5123"/);
    expect(writable).not.toMatch(/readonly/);
    expect(writable).not.toMatch(/proxy/);
  });

  it('makes the cache a pull-through proxy of the configured upstream', () => {
    const cache = registryConfig({
      name: 'c',
      storageDir: '/s',
      configDir: '/c',
      listen: { unixSocket: '/c/c.sock' },
      readOnly: false,
      proxyRemoteUrl: 'http://127.0.0.1:5999',
    });
    expect(cache).toMatch(/proxy:\n\s+remoteurl: "http:\/\/127.0.0.1:5999"/);
  });

  it('agrees with the agent on where the mirror is, and on what $DEPOT says', () => {
    expect(REGISTRY_GATE_SOCKET).toBe(SANDBOX_REGISTRY.socket);
    expect(REGISTRY_MIRROR_PORT).toBe(SANDBOX_REGISTRY.port);
    expect(depotProfile(own)).toContain(`export DEPOT=localhost:5000/${own}\n`);
    // The gate's messages name the same place.
    const refused = routeRequest('POST', '/v2/alice/app/blobs/uploads/', own);
    expect(refused.to === 'refuse' && refused.message).toContain(`localhost:5000/${own}/`);
  });
});
