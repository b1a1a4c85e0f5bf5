import type { Adapter } from 'oidc-provider';
import type Provider from 'oidc-provider';

type ClientClass = Provider['Client'];
type Client = NonNullable<Awaited<ReturnType<ClientClass['find']>>>;

/**
 * oidc-provider's Client.find keeps the Client it built per distinct metadata, but tells them
 * apart by a SHA-256 of the metadata's JSON, computed on every find: on every token request.
 * Our client adapter hands out the very same metadata object while the config cache holds it
 * (src/oidc/client-adapter.ts), so the Client built for an object is remembered by that object
 * (a WeakMap: when the cache lets the metadata go, the Client goes too) and found without the
 * hash. Anything else, and the first find of an object, is the library's own find.
 */
export function rememberClientsByMetadata(provider: Provider, clients: Pick<Adapter, 'find'>): void {
  const Client = provider.Client;
  const libraryFind = Client.find.bind(Client);
  const built = new WeakMap<object, Client>();
  Client.find = async (id: string) => {
    if (typeof id !== 'string' || id === '') return libraryFind(id);
    const metadata = await clients.find(id);
    if (!metadata) return libraryFind(id);
    const known = built.get(metadata);
    if (known) return known;
    const client = await libraryFind(id);
    if (client) built.set(metadata, client);
    return client;
  };
}
