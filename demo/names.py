"""Sample names for the demo data set. All invented except the four subdistricts and the court."""

SUBDISTRICTS = [
    ("loufeng", "娄葑街道", "Loufeng Subdistrict"),
    ("xietang", "斜塘街道", "Xietang Subdistrict"),
    ("weiting", "唯亭街道", "Weiting Subdistrict"),
    ("shengpu", "胜浦街道", "Shengpu Subdistrict"),
]

# Approximate centres of the four subdistricts (WGS-84): demo venues are placed around them, so
# feeds carry GEO and maps open near the right place. Sample positions, not real addresses.
SUBDISTRICT_CENTRES = {
    "loufeng": (31.3010, 120.6800),
    "xietang": (31.2860, 120.7450),
    "weiting": (31.3740, 120.8470),
    "shengpu": (31.3250, 120.7920),
}
COURT_POSITION = (31.3185, 120.7180)  # near the SIP People's Court (sample)


def venue_position(subdistrict: str, index: int) -> tuple[float, float]:
    """A deterministic sample position within about 2 km of the subdistrict's centre."""
    lat, lon = SUBDISTRICT_CENTRES[subdistrict]
    return round(lat + ((index * 7) % 11 - 5) * 0.0035, 6), round(lon + ((index * 5) % 13 - 6) * 0.0035, 6)


# (slug, Chinese, pinyin): sample community names, ten per subdistrict in the order above.
COMMUNITIES = [
    ("jinhu", "金湖", "Jinhu"),
    ("xinghai", "星海", "Xinghai"),
    ("linglong", "玲珑", "Linglong"),
    ("hudong", "湖东", "Hudong"),
    ("hanlin", "翰林", "Hanlin"),
    ("qinyuan", "沁苑", "Qinyuan"),
    ("fengyi", "葑谊", "Fengyi"),
    ("lianhua", "莲花", "Lianhua"),
    ("xinfeng", "新葑", "Xinfeng"),
    ("yuehu", "月湖", "Yuehu"),
    ("xietangcun", "斜塘村", "Xietangcun"),
    ("fangzhou", "方洲", "Fangzhou"),
    ("lianxiang", "莲香", "Lianxiang"),
    ("xinchang", "新昌", "Xinchang"),
    ("dushu", "独墅", "Dushu"),
    ("wuyuan", "吴苑", "Wuyuan"),
    ("nanshi", "南施", "Nanshi"),
    ("xiuyuan", "秀苑", "Xiuyuan"),
    ("yunxi", "云溪", "Yunxi"),
    ("qinghe", "清和", "Qinghe"),
    ("weixin", "唯新", "Weixin"),
    ("tinghu", "亭湖", "Tinghu"),
    ("yangcheng", "阳澄", "Yangcheng"),
    ("qingjian", "青剑", "Qingjian"),
    ("jinghu", "景湖", "Jinghu"),
    ("weiqing", "唯青", "Weiqing"),
    ("dongting", "东亭", "Dongting"),
    ("shuangting", "双亭", "Shuangting"),
    ("chuangyuan", "创苑", "Chuangyuan"),
    ("huanan", "华南", "Huanan"),
    ("shengpucun", "胜浦村", "Shengpucun"),
    ("jinxing", "金星", "Jinxing"),
    ("hongmiao", "红庙", "Hongmiao"),
    ("shengyuan", "胜苑", "Shengyuan"),
    ("pudong", "浦东", "Pudong"),
    ("wujiang", "吴浦", "Wupu"),
    ("yuexi", "悦溪", "Yuexi"),
    ("songze", "松泽", "Songze"),
    ("qianjin", "前进", "Qianjin"),
    ("shanghe", "尚和", "Shanghe"),
]

BUREAUS = [
    ("public-security", "公安分局", "Public Security Bureau"),
    ("planning", "规划建设委员会", "Planning and Construction Committee"),
    ("social-affairs", "社会事业局", "Social Affairs Bureau"),
    ("environment", "环境保护局", "Environmental Protection Bureau"),
    ("transport", "交通运输局", "Transport Bureau"),
    ("labour", "劳动和社会保障局", "Labour and Social Security Bureau"),
    ("education", "教育局", "Education Bureau"),
    ("urban-management", "城市管理局", "Urban Management Bureau"),
]

SURNAMES = [
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("朱", "Zhu"),
    ("沈", "Shen"),
    ("顾", "Gu"),
    ("陆", "Lu"),
    ("钱", "Qian"),
    ("蒋", "Jiang"),
]

GIVEN_NAMES = [
    ("芳", "Fang"),
    ("伟", "Wei"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("勇", "Yong"),
    ("艳", "Yan"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀英", "Xiuying"),
    ("建华", "Jianhua"),
    ("晓东", "Xiaodong"),
    ("海燕", "Haiyan"),
    ("志强", "Zhiqiang"),
    ("玉兰", "Yulan"),
    ("国平", "Guoping"),
    ("文婷", "Wenting"),
    ("春梅", "Chunmei"),
    ("立新", "Lixin"),
    ("雪琴", "Xueqin"),
    ("振宇", "Zhenyu"),
]

TEAM_KINDS = [
    ("public_security", "治安义工", "Public-security volunteers"),
    ("anti_pickpocket", "反扒志愿者", "Anti-pickpocket volunteers"),
    ("joint_patrol", "保安联防巡逻队", "Joint security patrol"),
]

AREAS = [
    ("邻里中心周边", "around the neighbourhood centre"),
    ("地铁站出入口", "metro station entrances"),
    ("湖滨步道", "lakeside promenade"),
    ("商业街", "shopping street"),
    ("小区巡逻路线", "residential patrol route"),
    ("学校周边", "around the schools"),
]

OFFICIAL_TITLES = [("局长", "Director"), ("副局长", "Deputy director"), ("主任", "Head")]

# Streets, compounds and landmarks each community serves, as residents name them: sample data
# (a few well-known SIP landmarks, the rest invented). (kind, Chinese, English), by community slug.
AREAS_BY_COMMUNITY = {
    "jinhu": [
        ("landmark", "金鸡湖", "Jinji Lake"),
        ("street", "金鸡湖大道", "Jinji Lake Avenue"),
        ("compound", "湖滨花园", "Lakeside Garden"),
    ],
    "xinghai": [
        ("street", "星海街", "Xinghai Street"),
        ("landmark", "星海广场", "Xinghai Square"),
        ("compound", "星海花园", "Xinghai Garden"),
    ],
    "dushu": [
        ("landmark", "独墅湖", "Dushu Lake"),
        ("street", "仁爱路", "Ren'ai Road"),
        ("compound", "独墅湖月亮湾公寓", "Dushu Lake Moon Bay Apartments"),
        ("landmark", "独墅湖图书馆", "Dushu Lake Library"),
    ],
    "linglong": [
        ("street", "玲珑街", "Linglong Street"),
        ("compound", "玲珑湾花园", "Linglong Bay Garden"),
        ("landmark", "东方之门", "Gate of the Orient"),
    ],
    "hudong": [
        ("street", "现代大道", "Xiandai Avenue"),
        ("landmark", "湖东邻里中心", "Hudong Neighbourhood Centre"),
        ("compound", "湖东花园", "Hudong Garden"),
    ],
    "fangzhou": [
        ("landmark", "方洲公园", "Fangzhou Park"),
        ("street", "方洲路", "Fangzhou Road"),
        ("compound", "方洲花园", "Fangzhou Garden"),
    ],
    "yangcheng": [
        ("landmark", "阳澄湖", "Yangcheng Lake"),
        ("street", "阳澄湖大道", "Yangcheng Lake Avenue"),
        ("compound", "阳澄花园", "Yangcheng Garden"),
    ],
}
# Communities without a list above get three areas built from their own name.
GENERIC_AREAS = [
    ("street", "{zh}路", "{en} Road"),
    ("compound", "{zh}花园", "{en} Garden"),
    ("landmark", "{zh}邻里中心", "{en} Neighbourhood Centre"),
]
