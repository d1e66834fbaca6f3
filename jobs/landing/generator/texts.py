"""Chinese text of the simulated world: personal and business names, addresses, review and
complaint wording. Every string is GBK-encodable (some CSV exports are written in GBK)."""
from __future__ import annotations

SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_FEMALE = tuple("芳娜敏静丽艳娟霞秀英华慧巧美婷雪琳晶欣怡佳雨梦悦蓉倩琴颖洁玲凤丹萍")
GIVEN_MALE = tuple("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆毅峰锋亮成林军龙洋")
RESTAURANT_PREFIX = ("蜀香", "老码头", "巴蜀", "川味", "锦城", "天府", "渝乡", "麻辣", "老灶", "宽窄", "芙蓉", "峨眉",
                     "青城", "好再来", "红油", "大龙")
RESTAURANT_SUFFIX = ("火锅店", "串串香", "川菜馆", "冒菜馆", "小吃店", "餐厅", "烧烤", "面馆", "中餐厅", "鱼庄")
TEST_NAME_PREFIXES = ("测试", "test")

DISTRICTS = {
    "Chengdu": ("武侯区", "锦江区", "青羊区", "金牛区", "成华区", "高新区", "双流区", "郫都区"),
    "Mianyang": ("涪城区", "游仙区", "安州区"),
    "Deyang": ("旌阳区", "罗江区", "广汉市"),
    "Leshan": ("市中区", "五通桥区", "峨眉山市"),
    "Ya'an": ("雨城区", "名山区"),
    "Meishan": ("东坡区", "彭山区"),
    "Yibin": ("翠屏区", "叙州区", "南溪区"),
    "Luzhou": ("江阳区", "龙马潭区", "纳溪区"),
    "Zigong": ("自流井区", "大安区", "贡井区"),
    "Neijiang": ("市中区", "东兴区"),
    "Nanchong": ("顺庆区", "高坪区", "嘉陵区"),
    "Dazhou": ("通川区", "达川区"),
    "Guang'an": ("广安区", "前锋区"),
    "Chongqing": ("渝中区", "江北区", "南岸区", "沙坪坝区", "九龙坡区", "渝北区"),
    "Xi'an": ("雁塔区", "碑林区", "未央区", "长安区"),
    "Kunming": ("五华区", "盘龙区", "官渡区"),
    "Guiyang": ("南明区", "云岩区", "观山湖区"),
    "Wuhan": ("江汉区", "武昌区", "洪山区", "江岸区"),
    "Beijing": ("朝阳区", "海淀区", "东城区", "丰台区"),
    "Shanghai": ("浦东新区", "徐汇区", "静安区", "闵行区"),
    "Guangzhou": ("天河区", "越秀区", "海珠区", "番禺区"),
    "Shenzhen": ("南山区", "福田区", "罗湖区", "宝安区"),
    "Harbin": ("南岗区", "道里区", "香坊区"),
}
ROADS = ("人民路", "建设路", "解放路", "中山路", "滨江路", "光华大道", "天府大道", "新华路", "长江路", "文化路",
         "和平路", "幸福路", "东风路", "学府路", "锦绣路", "青年路")

# Review text by situation; the product's short name is put between prefix and suffix.
REVIEW_GOOD = (("", "很新鲜,配送也快,下次还买"), ("", "品质不错,家人都喜欢"), ("这次买的", "性价比很高"),
               ("", "跟描述一致,包装完好"), ("回购好多次了,", "一直很稳定"))
REVIEW_MIXED = (("", "还行,就是价格有点贵"), ("", "一般般,分量少了点"), ("", "还可以,包装可以再改进"))
REVIEW_LATE = (("配送太慢了,", "比约定时间晚了很久"), ("等了好久才送到,", "都不太冰了"),
               ("送货超时,", "本身还可以"))
REVIEW_BAD = (("", "不新鲜,有点坏了"), ("", "质量太差,跟图片不一样"), ("", "有异味,不会再买了"))

COMPLAINT_CATEGORIES = ("late_delivery", "quality", "wrong_item", "price", "service", "app", "packaging")
COMPLAINT_TEXT = {
    "late_delivery": ("配送超时一个多小时,影响晚饭", "说好的时间段没送到,客服也联系不上", "又迟到了,冻品都化了"),
    "quality": ("收到的商品不新鲜,要求退款", "肉有异味,质量有问题", "蔬菜烂了好几根"),
    "wrong_item": ("送错货了,少了一件商品", "收到的不是我买的品牌"),
    "price": ("刚买完就降价了,能不能补差价", "优惠券用不了,价格比别家贵"),
    "service": ("配送员态度不好", "客服处理太慢"),
    "app": ("建议APP增加按时段配送的选择", "小程序经常卡顿,希望优化"),
    "packaging": ("建议冻品多加点冰袋", "包装太多塑料,希望环保一点"),
}
SUGGESTION_CATEGORIES = ("app", "packaging", "service", "price")
