import type { OperatorFunction } from 'rxjs';
import { filter, map, pipe } from './rx.ts';
import type { LoggedEvent, StateDeleteEvent, StateSetEvent } from '../events/step-event.ts';
import type { StateWrite } from '../model/state-write.ts';

const isStateEvent = (l: LoggedEvent): l is LoggedEvent & { event: StateSetEvent | StateDeleteEvent } =>
  l.event.type === 'state.set' || l.event.type === 'state.delete';

/**
 * `state.set` / `state.delete` events become versioned last-write-wins writes (a delete is a
 * tombstone). The version is the event's (time, seq, id), so the store keeps the newest write by
 * event time whatever order writes arrive in. Other events are ignored.
 */
export function toStateWrites(): OperatorFunction<LoggedEvent, StateWrite> {
  return pipe(
    filter(isStateEvent),
    map(({ event: e }): StateWrite => {
      const version = { time: e.timeMs, seq: e.seq ?? -1, id: e.id };
      return e.type === 'state.set'
        ? { session: e.session, key: e.key, deleted: false, value: e.value, version }
        : { session: e.session, key: e.key, deleted: true, version };
    }),
  );
}
