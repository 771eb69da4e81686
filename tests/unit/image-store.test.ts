// The class image store's pure rules: which requests a reader's machine may
// make of the registry, how image names map onto Docker Hub's layout, and
// that the agent inside and the server outside agree on the mirror's address.
import { describe, expect, it } from 'vitest';
import { REGISTRY_GATE_SOCKET, REGISTRY_MIRROR_PORT } from '../../sandbox-server/agent/registry-forwarder.ts';
import { ImageNameError, displayName, parseImageName } from '../../sandbox-server/src/images/image-names.ts';
import { SANDBOX_REGISTRY } from '../../sandbox-server/src/images/paths.ts';
import { isAllowedPull } from '../../sandbox-server/src/images/read-only-gate.ts';
import { registryConfig } from '../../sandbox-server/src/images/registry-process.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('the registry gate', () => {
  it('lets through what docker pull asks for', () => {
    expect(isAllowedPull('GET', '/v2/')).toBe(true);
    expect(isAllowedPull('GET', '/v2/library/busybox/manifests/latest')).toBe(true);
    expect(isAllowedPull('HEAD', `/v2/library/debian/manifests/${digest}`)).toBe(true);
    expect(isAllowedPull('GET', `/v2/alice/app/blobs/${digest}`)).toBe(true);
  });

  it('refuses writes, the catalogue, tag lists and anything else', () => {
    expect(isAllowedPull('POST', '/v2/alice/app/blobs/uploads/')).toBe(false);
    expect(isAllowedPull('PUT', '/v2/library/busybox/manifests/latest')).toBe(false);
    expect(isAllowedPull('DELETE', `/v2/library/busybox/manifests/${digest}`)).toBe(false);
    expect(isAllowedPull('PATCH', '/v2/alice/app/blobs/uploads/x')).toBe(false);
    expect(isAllowedPull('GET', '/v2/_catalog')).toBe(false);
    expect(isAllowedPull('GET', '/v2/library/busybox/tags/list')).toBe(false);
    expect(isAllowedPull('GET', '/debug/vars')).toBe(false);
    expect(isAllowedPull('GET', '/v2/../../etc/passwd/manifests/x')).toBe(false);
    expect(isAllowedPull('GET', `/v2/library/busybox/blobs/sha256:short`)).toBe(false);
    expect(isAllowedPull('GET', `/v2/${'a/'.repeat(300)}b/manifests/latest`)).toBe(false);
    expect(isAllowedPull(undefined, undefined)).toBe(false);
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
  });

  it('agrees with the agent on where the mirror is', () => {
    expect(REGISTRY_GATE_SOCKET).toBe(SANDBOX_REGISTRY.socket);
    expect(REGISTRY_MIRROR_PORT).toBe(SANDBOX_REGISTRY.port);
  });
});
