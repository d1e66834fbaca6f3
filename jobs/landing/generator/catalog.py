"""The product catalogue (ERP master data): category tree, brands, prices, shelf life, popularity,
the planted bundles, and the price changes that make later snapshot rows.

Products are numbered in category order (P00001...), so each category_l2 is a contiguous block;
samplers draw a product of a given category or group in one vectorised step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .rng import stream

PRODUCT_ID_WIDTH = 5
UNKNOWN_PRODUCT_BASE = 90_000  # ids P9xxxx never exist in the catalogue (dirt: unknown products)
PRICE_CHANGES_PER_YEAR = 2.0
PRICE_CHANGE_RANGE = (0.88, 1.12)
RESTAURANT_PRICE_FACTOR = 0.88  # wholesale price of B2B customers
QUALITY_ISSUE_SHARE = 0.08  # share of fresh SKUs with a quality problem (worse reviews, returns)
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Category:
    """A category_l2 with its parent, storage, shelf life, brands and base items (name, yuan)."""

    l1: str
    l2: str
    storage: str
    shelf_life: tuple[int, int]
    skus: int
    brands: tuple[str, ...]  # most dominant first
    items: tuple[tuple[str, float], ...]
    queries: tuple[str, ...]  # search text customers type for this category
    cost_ratio: tuple[float, float]


FRESH = (0.65, 0.82)
PACKED = (0.5, 0.72)
CATEGORIES: tuple[Category, ...] = (
    Category("vegetables", "leafy", "chilled", (3, 5), 14, ("万象鲜选", "绿源农场", "蜀丰"),
             (("上海青500g", 4.5), ("菠菜400g", 5.9), ("生菜300g", 4.9), ("油麦菜400g", 4.5), ("大白菜1颗", 6.9),
              ("娃娃菜2颗", 6.5), ("空心菜400g", 5.5), ("韭菜300g", 4.9)), ("青菜", "蔬菜", "菠菜", "白菜"), FRESH),
    Category("vegetables", "root", "ambient", (5, 7), 12, ("万象鲜选", "绿源农场", "蜀丰"),
             (("土豆1kg", 5.9), ("胡萝卜500g", 3.9), ("白萝卜1根", 3.5), ("莲藕500g", 8.9), ("山药500g", 9.9),
              ("红薯1kg", 6.9), ("洋葱500g", 3.5), ("生姜250g", 4.9), ("大蒜250g", 5.5)), ("土豆", "萝卜", "莲藕"), FRESH),
    Category("vegetables", "fruiting_veg", "chilled", (4, 7), 8, ("万象鲜选", "绿源农场"),
             (("番茄500g", 6.9), ("黄瓜500g", 4.9), ("青椒300g", 4.5), ("茄子500g", 5.9), ("二荆条辣椒250g", 5.9)),
             ("番茄", "西红柿", "黄瓜", "辣椒"), FRESH),
    Category("vegetables", "mushroom", "chilled", (3, 6), 6, ("万象鲜选", "雪榕"),
             (("香菇300g", 7.9), ("金针菇200g", 3.5), ("平菇300g", 5.5), ("杏鲍菇400g", 7.5)), ("菌菇", "金针菇", "香菇"), FRESH),
    Category("vegetables", "tofu", "chilled", (3, 7), 8, ("白玉", "清美", "万象优选"),
             (("嫩豆腐400g", 3.9), ("老豆腐500g", 4.5), ("千张250g", 5.5), ("豆腐皮200g", 6.5), ("冻豆腐300g", 5.9),
              ("腐竹200g", 9.9)), ("豆腐", "豆制品", "冻豆腐"), FRESH),
    Category("fruit", "citrus", "ambient", (10, 20), 8, ("万象鲜选", "褚橙", "安岳"),
             (("脐橙2.5kg", 29.9), ("耙耙柑2kg", 35.9), ("沃柑2kg", 25.9), ("安岳柠檬500g", 9.9)), ("橙子", "柑橘", "柠檬"), FRESH),
    Category("fruit", "apple_pear", "ambient", (15, 30), 6, ("万象鲜选", "阿克苏"),
             (("红富士苹果2kg", 25.9), ("阿克苏冰糖心苹果2kg", 35.9), ("库尔勒香梨1kg", 16.9), ("雪梨1.5kg", 14.9)),
             ("苹果", "梨"), FRESH),
    Category("fruit", "berries", "chilled", (3, 7), 6, ("万象鲜选", "佳沛"),
             (("草莓500g", 29.9), ("蓝莓125g", 19.9), ("阳光玫瑰葡萄500g", 25.9), ("车厘子500g", 49.9)),
             ("草莓", "蓝莓", "车厘子"), FRESH),
    Category("fruit", "tropical", "ambient", (5, 12), 8, ("万象鲜选", "都乐", "蒲江"),
             (("香蕉1kg", 8.9), ("芒果1.5kg", 19.9), ("菠萝1个", 12.9), ("火龙果1kg", 15.9), ("蒲江猕猴桃1kg", 19.9)),
             ("香蕉", "芒果", "猕猴桃"), FRESH),
    Category("meat", "pork", "chilled", (3, 6), 10, ("高金", "双汇", "万象鲜选", "雨润"),
             (("五花肉500g", 19.9), ("猪里脊400g", 18.9), ("猪排骨500g", 29.9), ("猪蹄1kg", 35.9), ("前腿肉500g", 16.9),
              ("猪肉馅400g", 15.9)), ("猪肉", "排骨", "五花肉"), FRESH),
    Category("meat", "beef", "chilled", (3, 6), 6, ("恒都", "科尔沁", "万象鲜选"),
             (("牛腩500g", 45.9), ("牛里脊400g", 49.9), ("牛腱子500g", 55.9), ("鲜切牛肉片300g", 39.9)), ("牛肉", "牛腩"), FRESH),
    Category("meat", "poultry", "chilled", (3, 5), 8, ("圣农", "正大", "万象鲜选"),
             (("鸡胸肉500g", 12.9), ("鸡腿1kg", 22.9), ("鸡翅中500g", 29.9), ("三黄鸡1只", 35.9), ("鸭1只", 39.9)),
             ("鸡肉", "鸡翅", "鸡腿"), FRESH),
    Category("seafood", "fish", "chilled", (2, 3), 6, ("万象鲜选", "国联"),
             (("鲈鱼1条", 35.9), ("草鱼1条", 25.9), ("鲫鱼500g", 15.9), ("三文鱼200g", 49.9)), ("鱼", "鲈鱼", "三文鱼"), FRESH),
    Category("seafood", "shrimp_shell", "chilled", (2, 3), 6, ("万象鲜选", "国联"),
             (("基围虾500g", 45.9), ("小龙虾1kg", 59.9), ("扇贝500g", 29.9), ("花甲500g", 15.9)), ("虾", "小龙虾", "海鲜"), FRESH),
    Category("dairy_eggs", "milk", "chilled", (7, 21), 14, ("伊利", "蒙牛", "新希望", "光明"),
             (("纯牛奶250ml*12", 39.9), ("鲜牛奶950ml", 16.9), ("低脂牛奶250ml*12", 42.9), ("高钙奶250ml*12", 45.9)),
             ("牛奶", "纯牛奶", "鲜奶"), PACKED),
    Category("dairy_eggs", "yoghurt", "chilled", (14, 21), 10, ("伊利", "蒙牛", "新希望", "光明"),
             (("原味酸奶200g*6", 19.9), ("风味发酵乳200g*10", 45.9), ("希腊酸奶100g*4", 22.9)), ("酸奶", "安慕希"), PACKED),
    Category("dairy_eggs", "eggs", "ambient", (30, 45), 6, ("万象鲜选", "圣迪乐村", "德青源"),
             (("鲜鸡蛋10枚", 12.9), ("鲜鸡蛋30枚", 32.9), ("土鸡蛋20枚", 35.9), ("咸鸭蛋6枚", 15.9)), ("鸡蛋", "土鸡蛋"), FRESH),
    Category("bakery", "bread", "ambient", (3, 7), 10, ("桃李", "宾堡", "万象烘焙"),
             (("全麦吐司400g", 12.9), ("白吐司400g", 10.9), ("牛角包4个", 15.9), ("法棍1根", 9.9), ("手撕面包500g", 14.9)),
             ("面包", "吐司"), PACKED),
    Category("bakery", "pastry", "ambient", (5, 15), 5, ("万象烘焙", "泸溪河"),
             (("蛋黄酥6枚", 25.9), ("瑞士卷4个", 19.9), ("老婆饼6个", 18.9)), ("蛋黄酥", "糕点"), PACKED),
    Category("bakery", "mooncake", "ambient", (30, 60), 6, ("稻香村", "美心", "万象烘焙"),
             (("五仁月饼礼盒", 89.9), ("莲蓉蛋黄月饼礼盒", 128.0), ("鲜肉月饼6枚", 35.9)), ("月饼", "月饼礼盒"), PACKED),
    Category("frozen", "hotpot_base", "ambient", (270, 540), 14, ("海底捞", "德庄", "小龙坎", "大龙燚", "桥头", "万象优选"),
             (("牛油火锅底料500g", 29.9), ("清油火锅底料400g", 22.9), ("番茄火锅底料200g", 12.9),
              ("菌汤火锅底料150g", 11.9), ("麻辣香锅底料200g", 13.9)), ("火锅底料", "牛油火锅", "底料"), PACKED),
    Category("frozen", "dumplings", "frozen", (180, 365), 16, ("三全", "思念", "湾仔码头", "龙抄手", "万象优选"),
             (("猪肉白菜水饺1kg", 22.9), ("三鲜水饺500g", 18.9), ("韭菜鸡蛋水饺1kg", 21.9), ("玉米猪肉水饺500g", 16.9),
              ("红油抄手400g", 19.9)), ("饺子", "水饺", "抄手"), PACKED),
    Category("frozen", "frozen_meat", "frozen", (180, 365), 20, ("万象优选", "科尔沁", "恒都", "大希地"),
             (("肥牛卷500g", 39.9), ("精品肥牛卷1kg", 69.9), ("羊肉卷500g", 45.9), ("鲜毛肚300g", 35.9), ("黄喉250g", 29.9),
              ("鸭肠300g", 19.9)), ("肥牛", "肥牛卷", "毛肚", "羊肉卷"), PACKED),
    Category("frozen", "tangyuan", "frozen", (180, 365), 8, ("三全", "思念", "赖汤圆"),
             (("黑芝麻汤圆500g", 14.9), ("花生汤圆500g", 13.9), ("红糖汤圆400g", 12.9)), ("汤圆", "元宵"), PACKED),
    Category("frozen", "frozen_seafood", "frozen", (180, 365), 8, ("安井", "海欣", "万象优选"),
             (("虾滑150g", 19.9), ("鱼丸500g", 15.9), ("撒尿牛丸500g", 22.9), ("蟹棒250g", 12.9)), ("虾滑", "丸子", "鱼丸"), PACKED),
    Category("grains_oils", "rice", "ambient", (270, 365), 5, ("金龙鱼", "福临门", "十月稻田"),
             (("东北大米5kg", 39.9), ("五常大米5kg", 69.9), ("泰国香米5kg", 59.9)), ("大米", "米"), PACKED),
    Category("grains_oils", "flour_noodles", "ambient", (180, 365), 8, ("金沙河", "陈克明", "万象优选"),
             (("挂面1kg", 9.9), ("宜宾燃面4人份", 19.9), ("面粉2.5kg", 16.9), ("手擀面500g", 7.9)), ("面条", "挂面", "面粉"), PACKED),
    Category("grains_oils", "oil", "ambient", (365, 540), 8, ("金龙鱼", "鲁花", "福临门"),
             (("菜籽油5L", 89.9), ("大豆油5L", 69.9), ("花生油5L", 129.0), ("调和油5L", 75.9)), ("食用油", "菜籽油"), PACKED),
    Category("snacks", "chips", "ambient", (180, 270), 6, ("乐事", "上好佳", "可比克"),
             (("原味薯片135g", 8.9), ("番茄味薯片135g", 8.9), ("虾条60g", 5.5)), ("薯片", "零食"), PACKED),
    Category("snacks", "nuts", "ambient", (180, 300), 6, ("三只松鼠", "良品铺子", "百草味"),
             (("每日坚果750g", 69.9), ("夏威夷果500g", 39.9), ("开心果500g", 45.9)), ("坚果", "每日坚果"), PACKED),
    Category("snacks", "spicy_snacks", "ambient", (180, 270), 6, ("卫龙", "张飞", "灯影"),
             (("辣条大面筋", 9.9), ("麻辣牛肉干", 29.9), ("灯影牛肉丝", 25.9)), ("辣条", "牛肉干"), PACKED),
    Category("snacks", "beverages", "ambient", (180, 365), 8, ("唯怡", "王老吉", "雪花", "可口可乐"),
             (("豆奶饮料245ml*12", 39.9), ("凉茶310ml*12", 42.9), ("啤酒500ml*12", 49.9), ("可乐330ml*12", 35.9)),
             ("饮料", "豆奶", "啤酒"), PACKED),
    Category("condiments", "vinegar", "ambient", (365, 720), 6, ("保宁", "恒顺", "紫林"),
             (("保宁醋500ml", 9.9), ("香醋500ml", 8.9), ("老陈醋500ml", 10.9)), ("醋", "保宁醋"), PACKED),
    Category("condiments", "soy_sauce", "ambient", (365, 720), 6, ("千禾", "海天", "李锦记"),
             (("生抽500ml", 12.9), ("老抽500ml", 13.9), ("零添加酱油1L", 22.9)), ("酱油", "生抽"), PACKED),
    Category("condiments", "chili_sauce", "ambient", (270, 540), 8, ("鹃城", "老干妈", "丹丹", "万象优选"),
             (("郫县豆瓣酱500g", 12.9), ("风味豆豉280g", 10.9), ("红油辣椒400g", 15.9), ("火锅油碟蘸料", 4.9)),
             ("豆瓣酱", "辣椒油", "蘸料"), PACKED),
    Category("condiments", "spices", "ambient", (365, 720), 6, ("汉源", "万象优选", "太太乐"),
             (("汉源花椒100g", 19.9), ("干辣椒250g", 15.9), ("八角100g", 9.9), ("鸡精200g", 9.9)), ("花椒", "辣椒", "调料"), PACKED),
)
L2_NAMES = tuple(c.l2 for c in CATEGORIES)
L1_NAMES = tuple(dict.fromkeys(c.l1 for c in CATEGORIES))
N_L2 = len(CATEGORIES)


@dataclass(frozen=True)
class Bundle:
    """A planted 'bought together' rule: a basket line of the antecedent adds a consequent line."""

    bundle_id: str
    antecedent: tuple[str, str]  # ("l2", name) or ("item", text contained in the product name)
    consequent: tuple[str, str]
    attach_prob: float


# Applied in this order, each to the basket built so far (tofu -> hot-pot base -> fatty beef chains).
BUNDLES: tuple[Bundle, ...] = (
    Bundle("B1", ("l2", "tofu"), ("l2", "hotpot_base"), 0.6),
    Bundle("B2", ("l2", "hotpot_base"), ("item", "肥牛卷"), 0.7),
    Bundle("B3", ("l2", "milk"), ("l2", "bread"), 0.55),
    Bundle("B4", ("l2", "dumplings"), ("l2", "vinegar"), 0.6),
)


@dataclass
class Catalog:
    """All products as arrays (index = product number - 1) plus samplers."""

    product_id: pl.Series
    name: pl.Series
    l2: np.ndarray  # category index
    brand: pl.Series
    price_fen: np.ndarray  # current list price (changes over time)
    cost_fen: np.ndarray
    shelf_life: np.ndarray
    popularity: np.ndarray
    quality_issue: np.ndarray
    l2_key: np.ndarray  # l2 + cumulative popularity within l2, for sampling
    updated_secs: np.ndarray

    @property
    def size(self) -> int:
        """Number of products."""
        return len(self.l2)

    def sample_in_l2(self, l2: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One product per line of category l2[i], by popularity (u uniform in [0, 1))."""
        return np.searchsorted(self.l2_key, l2 + u, side="right")

    def members(self, selector: tuple[str, str]) -> np.ndarray:
        """Boolean mask of the products a bundle selector names."""
        kind, value = selector
        if kind == "l2":
            return self.l2 == L2_NAMES.index(value)
        return self.name.str.contains(value, literal=True).to_numpy()


def _price_fen(yuan: np.ndarray) -> np.ndarray:
    """Retail-looking prices: x.90 above 10 yuan, one decimal below."""
    tenths = np.maximum(np.round(yuan * 10), 5).astype(np.int64)
    high = yuan >= 10
    tenths[high] = np.round(yuan[high]).astype(np.int64) * 10 - 1
    return tenths * 10


def _category_products(category: Category, rng: np.random.Generator) -> list[tuple[str, str, float, float]]:
    """(brand, name, base yuan, popularity) of one category's SKUs."""
    combos = [(b, i) for i in range(len(category.items)) for b in range(len(category.brands))]
    chosen = np.sort(rng.permutation(len(combos))[: category.skus])
    rows = []
    for pick in chosen:
        brand_no, item_no = combos[pick]
        item, yuan = category.items[item_no]
        brand_weight = 3.0 / (1.0 + brand_no)  # a few brands dominate
        rows.append((category.brands[brand_no], item, yuan, brand_weight))
    return rows


def build_catalog(seed: int, start_secs: int) -> Catalog:
    """Draw the catalogue of a run."""
    rng = stream(seed, "catalog")
    names, brands, l2s, yuan, weight, shelf, cost_ratio = [], [], [], [], [], [], []
    for k, category in enumerate(CATEGORIES):
        for brand, item, base, brand_weight in _category_products(category, rng):
            names.append(f"{brand}{item}")
            brands.append(brand)
            l2s.append(k)
            yuan.append(base * rng.lognormal(0.0, 0.1))
            weight.append(brand_weight * rng.lognormal(0.0, 0.6))
            shelf.append(rng.integers(category.shelf_life[0], category.shelf_life[1] + 1))
            cost_ratio.append(rng.uniform(*category.cost_ratio))
    l2 = np.array(l2s, dtype=np.int64)
    popularity = np.array(weight)
    price = _price_fen(np.array(yuan))
    fresh = np.isin(l2, [k for k, c in enumerate(CATEGORIES) if c.cost_ratio == FRESH])
    return Catalog(
        product_id=formats.ids("P", np.arange(1, len(l2) + 1), PRODUCT_ID_WIDTH),
        name=pl.Series("name", names, dtype=pl.String),
        l2=l2,
        brand=pl.Series("brand", brands, dtype=pl.String),
        price_fen=price,
        cost_fen=np.round(price * np.array(cost_ratio)).astype(np.int64),
        shelf_life=np.array(shelf, dtype=np.int64),
        popularity=popularity,
        quality_issue=fresh & (rng.random(len(l2)) < QUALITY_ISSUE_SHARE),
        l2_key=_segment_keys(l2, popularity),
        updated_secs=start_secs - rng.integers(86_400, 90 * 86_400, len(l2)),
    )


def _segment_keys(segment: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """segment + cumulative weight share within the segment (segments contiguous and sorted)."""
    keys = np.empty(len(segment))
    for k in np.unique(segment):
        block = segment == k
        cumulative = np.cumsum(weight[block])
        keys[block] = k + cumulative / cumulative[-1]
    return keys


def products_frame(catalog: Catalog, index: np.ndarray) -> pl.DataFrame:
    """Rows of the products export (contract columns) for the given product indices."""
    categories = catalog.l2[index]
    return pl.DataFrame({
        "product_id": catalog.product_id.gather(index),
        "product_name": catalog.name.gather(index),
        "category_l1": formats.lookup([c.l1 for c in CATEGORIES], categories),
        "category_l2": formats.lookup(L2_NAMES, categories),
        "brand": catalog.brand.gather(index),
        "list_price": formats.money(catalog.price_fen[index]),
        "unit_cost": formats.money(catalog.cost_fen[index]),
        "shelf_life_days": formats.integers(catalog.shelf_life[index]),
        "storage_type": formats.lookup([c.storage for c in CATEGORIES], categories),
        "updated_at": formats.timestamps(catalog.updated_secs[index]),
    })


def change_prices(catalog: Catalog, rng: np.random.Generator, day_start: int) -> np.ndarray:
    """Apply today's list-price changes in place; returns the changed product indices."""
    changed = np.flatnonzero(rng.random(catalog.size) < PRICE_CHANGES_PER_YEAR / DAYS_PER_YEAR)
    factor = rng.uniform(*PRICE_CHANGE_RANGE, len(changed))
    new_price = _price_fen(catalog.price_fen[changed] * factor / 100.0)
    catalog.cost_fen[changed] = np.minimum(
        np.round(catalog.cost_fen[changed] * factor).astype(np.int64), new_price - 1)
    catalog.price_fen[changed] = new_price
    catalog.updated_secs[changed] = day_start + rng.integers(8 * 3600, 18 * 3600, len(changed))
    return changed


def group_sampler(catalog: Catalog, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(product indices, cumulative popularity share) of a product group, for sampling."""
    members = np.flatnonzero(mask)
    cumulative = np.cumsum(catalog.popularity[members])
    return members, cumulative / cumulative[-1]


def sample_group(group: tuple[np.ndarray, np.ndarray], u: np.ndarray) -> np.ndarray:
    """Products of a group by popularity for uniforms u."""
    members, cumulative = group
    return members[np.minimum(np.searchsorted(cumulative, u, side="right"), len(members) - 1)]
