// The timers the mini-program's JavaScript runtime provides (it has no DOM and no Node).
declare type TimerHandle = number & { readonly __timer: unique symbol };
declare function setTimeout(callback: () => void, ms?: number): TimerHandle;
declare function clearTimeout(handle: TimerHandle | null | undefined): void;
declare function setInterval(callback: () => void, ms?: number): TimerHandle;
declare function clearInterval(handle: TimerHandle | null | undefined): void;
