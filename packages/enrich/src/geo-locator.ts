/**
 * IP -> country (ISO 3166-1 alpha-2) and, when the database has it, region (ISO 3166-2, "US-CA"),
 * from a MaxMind-format (.mmdb) database read with the `maxmind` package (MIT).
 *
 * Default database: @ip-location-db/geo-whois-asn-country-mmdb, country level, built from the
 * regional internet registries' data (NRO, CC BY 4.0: attribution in docs/concepts/selection.md);
 * the npm package itself is CC0. For regions, or fresher data, the operator points MARQUEE_GEOIP_DB
 * (read by the server's config) at another .mmdb: a city database in MaxMind's layout (DB-IP Lite
 * City, CC BY 4.0, or GeoLite2 City under MaxMind's own licence, which the operator accepts).
 * Marquee does not ship GeoLite2.
 */
import { createRequire } from 'node:module';
import { LRUCache } from 'lru-cache';
import maxmind, { type CityResponse, type Reader } from 'maxmind';

export interface GeoInfo {
  readonly country: string | undefined;
  readonly region: string | undefined;
}

export interface GeoLocator {
  lookup(ip: string | undefined): GeoInfo;
}

const NONE: GeoInfo = Object.freeze({ country: undefined, region: undefined });

/** The records of the two layouts in use: MaxMind's (country.iso_code, subdivisions) and ip-location-db's. */
interface GeoRecord {
  readonly country?: { readonly iso_code?: string };
  readonly registered_country?: { readonly iso_code?: string };
  readonly subdivisions?: readonly { readonly iso_code?: string }[];
  readonly country_code?: string;
}

export function defaultGeoDatabasePath(): string {
  return createRequire(import.meta.url).resolve(
    '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb',
  );
}

export class MmdbGeoLocator implements GeoLocator {
  /**
   * Answers by IP string. The reader's own cache keeps decoded records, but every lookup still validated the
   * IP and walked the tree (3% of the decision API's CPU with one lookup per request); a page's requests and
   * a user's repeat visits come from the same IP.
   */
  private readonly byIp: LRUCache<string, GeoInfo>;

  private constructor(
    private readonly reader: Reader<CityResponse>,
    cacheSize: number,
  ) {
    this.byIp = new LRUCache({ max: cacheSize });
  }

  /** Opens the database (the whole file is read into memory; lookups are synchronous). */
  static async open(path: string = defaultGeoDatabasePath(), cacheSize = 10_000): Promise<MmdbGeoLocator> {
    const reader = await maxmind.open<CityResponse>(path, { cache: { max: cacheSize } });
    return new MmdbGeoLocator(reader, cacheSize);
  }

  lookup(ip: string | undefined): GeoInfo {
    if (!ip || ip.length > 45) return NONE;
    const hit = this.byIp.get(ip);
    if (hit) return hit;
    const info = this.find(ip);
    this.byIp.set(ip, info);
    return info;
  }

  private find(ip: string): GeoInfo {
    if (!maxmind.validate(ip)) return NONE;
    const rec = this.reader.get(ip) as GeoRecord | null;
    if (!rec) return NONE;
    const country = (rec.country?.iso_code ?? rec.country_code ?? rec.registered_country?.iso_code)?.toUpperCase();
    if (!country || !/^[A-Z]{2}$/.test(country)) return NONE;
    const sub = rec.subdivisions?.[0]?.iso_code;
    return Object.freeze({ country, region: sub ? `${country}-${sub.toUpperCase()}` : undefined });
  }
}
