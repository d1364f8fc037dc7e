// Types of Cairn's browser SDK (`@cairn/sdk`), the same API as `window.cairn`
// after the snippet has loaded.

/** JSON-serializable values accepted in properties and traits. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Properties = { [key: string]: JsonValue | undefined };

/** Consent categories; `necessary` is always on. */
export type Category = 'necessary' | 'analytics' | 'marketing' | 'personalization';
export type CategoryPreferences = Partial<Record<Category, boolean>>;

/** How the SDK learns the visitor's consent (see `LoadOptions.consent`). */
export type ConsentMode = 'opt-in' | 'opt-out' | 'tcf' | 'google';

export interface ConsentState {
  /** Whether the visitor has made a choice (or one was restored from an earlier visit). With
   * `tcf`: once the platform has a decision; with `google`: once an `update` has been seen. */
  chosen: boolean;
  categoryPreferences: Record<Category, boolean>;
}

export interface LoadOptions {
  /** Origin of the Cairn worker; default: the page's own origin (first-party). */
  apiHost?: string;
  /**
   * Where consent comes from.
   * - `opt-in` (default): the site's banner calls `consent.set`; nothing is sent or stored before consent.
   * - `opt-out`: allowed until the visitor objects.
   * - `tcf`: an IAB TCF v2.2 consent platform (`window.__tcfapi`) decides: purpose 1 gates
   *   everything; 7-10 analytics, 2-4 marketing, 5-6 personalization. Opt-in until it answers.
   * - `google`: Google Consent Mode v2 (`gtag('consent', ...)` in `window.dataLayer`) decides:
   *   `analytics_storage` analytics; `ad_storage`, `ad_user_data` and `ad_personalization`
   *   marketing; `personalization_storage` personalization. Opt-in until a signal is set.
   *
   * With `tcf` or `google` the platform is the source of truth: `consent.set` is ignored
   * and no choice of Cairn's own is stored.
   */
  consent?: ConsentMode;
  /** What is captured without code; `false` turns all of it off. Each part defaults to on. */
  autocapture?:
    | false
    | {
        /** Page views on pushState/replaceState/popstate. */
        history?: boolean;
        /** `Element Clicked` for links and buttons. */
        clicks?: boolean;
        /** E-commerce events from `data-cairn-*` attributes. */
        commerce?: boolean;
      };
}

export interface User {
  anonymousId: string;
  userId: string | null;
}

export interface Consent {
  /** Sets the categories named; the others keep their value. Ignored (with a warning) when a
   * consent platform decides (`consent: 'tcf' | 'google'`). */
  set(preferences: CategoryPreferences): void;
  /** The current consent; `undefined` until the SDK has started (use `ready`). */
  get(): ConsentState | undefined;
  onChange(callback: (state: ConsentState) => void): void;
}

export interface Cairn {
  /** Starts the SDK for a source; calls made before are queued and replayed in order. */
  load(writeKey: string, options?: LoadOptions): Cairn;
  track(event: string, properties?: Properties): void;
  page(name?: string, properties?: Properties): void;
  page(properties: Properties): void;
  identify(userId?: string, traits?: Properties): void;
  identify(traits: Properties): void;
  alias(userId: string, previousId?: string): void;
  group(groupId: string, traits?: Properties): void;
  /** Forgets the visitor: no userId, a new anonymousId. */
  reset(): void;
  /** The visitor's ids; `undefined` until the SDK has started (use `ready`). */
  user(): User | undefined;
  /** The visitor's traits and audiences the source allows (`settings.profileTraits`), for
   * personalization; `null` without personalization consent or before the profile exists. */
  profile(): Promise<{ traits: Properties; audiences: string[] } | null>;
  /** Sends what is queued now. */
  flush(): Promise<void> | undefined;
  /** Calls back once the SDK has started. */
  ready(callback: (cairn: Cairn) => void): void;
  consent: Consent;
}

declare const cairn: Cairn;
export default cairn;
