/**
 * The app's frame and colours. react-admin's default blues fail WCAG AA contrast (white on
 * #2196f3 is 3.1:1); these are ≥ 4.5:1 for text on white and white on them. The user menu names
 * itself by the admin's name, the text it shows (axe: label-content-name-mismatch).
 */
import {
  AppBar,
  defaultTheme,
  Layout,
  UserMenu,
  useGetIdentity,
  type LayoutProps,
  type RaThemeOptions,
} from "react-admin";

export const theme: RaThemeOptions = {
  ...defaultTheme,
  palette: {
    ...defaultTheme.palette,
    primary: { main: "#0d47a1", contrastText: "#fff" },
    secondary: { main: "#123c7a", contrastText: "#fff" },
    warning: { main: "#a04400", contrastText: "#fff" },
    error: { main: "#b71c1c", contrastText: "#fff" },
  },
};

function ShopUserMenu() {
  const { identity } = useGetIdentity();
  return <UserMenu label={identity?.fullName ? String(identity.fullName) : "Profile"} />;
}

const ShopAppBar = () => <AppBar userMenu={<ShopUserMenu />} />;

export const ShopLayout = (props: LayoutProps) => <Layout {...props} appBar={ShopAppBar} />;
