/**
 * Kafka's default partitioner (murmur2 of the key, as the Java client computes it): the partition a
 * session's events land on. State, totals and turn records of a session are written to the same
 * partition number of their topics, so one owner holds everything about a session.
 *
 * Not kafkajs's `Partitioners.DefaultPartitioner`: it computes the same hash, but only inside a
 * producer call given a topic's partition metadata, while we need the number up front to send a
 * session's records to the same partition of several topics. test/kafka/murmur2-vectors.json pins
 * both to the Java client (kafka-clients' `Utils.murmur2`), so the three cannot drift apart.
 */
export function murmur2(key: string): number {
  const data = Buffer.from(key, 'utf8');
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const tail = length - rest;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The Java default partitioner's choice for a keyed record: `toPositive(murmur2(key)) % partitions`. */
export function partitionFor(session: string, partitions: number): number {
  return (murmur2(session) & 0x7fffffff) % partitions;
}
