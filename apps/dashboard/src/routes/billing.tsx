/** Billing: balances, invoices and earnings statements come with the billing API, which does not exist yet. */
import type { JSX } from 'solid-js';
import { Empty, PageHeader } from '../components/states.tsx';

export default function Billing(): JSX.Element {
  return (
    <section>
      <PageHeader title="Billing" />
      <Empty title="Billing is not available on this server yet">
        Advertiser balances, monthly invoices and publisher earnings statements will appear here once Marquee's billing
        ledger is installed. Spend and revenue figures are in Reports.
      </Empty>
    </section>
  );
}
