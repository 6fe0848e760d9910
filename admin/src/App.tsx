import { Admin, Resource } from "react-admin";
import { shopAuthProvider } from "./authProvider";
import { shopDataProvider } from "./dataProvider";
import { Session } from "./session";
import { ShopLayout, theme } from "./layout";
import { Dashboard } from "./dashboard/Dashboard";
import { ProductCreate, ProductEdit, ProductList } from "./products/screens";
import { OrderList, OrderShow } from "./orders/screens";
import { CustomerList, CustomerShow } from "./customers";
import { ReturnList } from "./returns";
import { PromotionCreate, PromotionEdit, PromotionList } from "./promotions";
import { RegionCreate, RegionEdit, RegionList } from "./regions";
import { ShippingOptionCreate, ShippingOptionEdit, ShippingOptionList } from "./shippingOptions";
import { WebhookCreate, WebhookEdit, WebhookList } from "./webhooks";

const session = new Session((url, init) => fetch(url, init), window.sessionStorage);
export const dataProvider = shopDataProvider(session);
const authProvider = shopAuthProvider(session);

export function App() {
  return (
    <Admin
      title="Shop admin"
      dataProvider={dataProvider}
      authProvider={authProvider}
      dashboard={Dashboard}
      layout={ShopLayout}
      theme={theme}
      darkTheme={null}
      requireAuth
      disableTelemetry
    >
      <Resource
        name="products"
        list={ProductList}
        create={ProductCreate}
        edit={ProductEdit}
        recordRepresentation="name"
      />
      <Resource name="orders" list={OrderList} show={OrderShow} />
      <Resource name="customers" list={CustomerList} show={CustomerShow} recordRepresentation="email" />
      <Resource name="returns" list={ReturnList} />
      <Resource
        name="promotions"
        list={PromotionList}
        create={PromotionCreate}
        edit={PromotionEdit}
        recordRepresentation="code"
      />
      <Resource
        name="regions"
        list={RegionList}
        create={RegionCreate}
        edit={RegionEdit}
        recordRepresentation="name"
      />
      <Resource
        name="shipping-options"
        options={{ label: "Shipping options" }}
        list={ShippingOptionList}
        create={ShippingOptionCreate}
        edit={ShippingOptionEdit}
      />
      <Resource name="webhooks" list={WebhookList} create={WebhookCreate} edit={WebhookEdit} />
    </Admin>
  );
}
