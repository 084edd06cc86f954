import type { Observable, Subscriber, Subscription } from 'rxjs';

/**
 * Subscribes a stateful operator's `onEvent` to its source: a throw in `onEvent` becomes the
 * output's error, errors and completion pass through, and nothing is processed once the output
 * is closed (a synchronous source keeps pushing after teardown, because its subscription is only
 * returned when it is done: ignore it rather than rebuild state nobody will read).
 */
export function forwardEvents<T, R>(source: Observable<T>, subscriber: Subscriber<R>, onEvent: (value: T) => void): Subscription {
  return source.subscribe({
    next: (value) => {
      if (subscriber.closed) return;
      try {
        onEvent(value);
      } catch (error) {
        subscriber.error(error);
      }
    },
    error: (error: unknown) => subscriber.error(error),
    complete: () => subscriber.complete(),
  });
}
