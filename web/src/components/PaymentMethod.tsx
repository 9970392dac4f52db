// The payment method's place in the checkout form. With the gateway simulator the server lists
// its test cards (`GET /v1/config`) and the fan picks one; a real gateway's card element would
// mount here instead and hand back its token the same way, through `onChange`, so the rest of the
// checkout does not change with the gateway.

import { useI18n } from '../i18n';

export interface PaymentChoice {
  token: string;
}

export function PaymentMethod(props: {
  testCards: string[];
  value: PaymentChoice | null;
  onChange: (choice: PaymentChoice) => void;
}) {
  const { t } = useI18n();
  if (props.testCards.length === 0) {
    return (
      <div class="payment-method">
        <p class="notice">{t.no_payment_method}</p>
      </div>
    );
  }
  const chosen = props.value?.token ?? props.testCards[0];
  return (
    <div class="payment-method">
      <label class="field">
        <span>{t.test_card}</span>
        <select
          value={chosen}
          aria-describedby="test-card-hint"
          onChange={(change) => props.onChange({ token: change.currentTarget.value })}
        >
          {props.testCards.map((token) => (
            <option key={token} value={token}>
              {token}
            </option>
          ))}
        </select>
      </label>
      <p id="test-card-hint" class="muted">
        {t.test_card_names[chosen] ? `${t.test_card_names[chosen]}. ` : ''}
        {t.test_card_hint}
      </p>
    </div>
  );
}
